#!/usr/bin/env escript
%% vectors.escript prints the Erlang-minted test vectors used by
%% interop_test.go. It runs with plain Erlang/OTP (no Elixir needed) and
%% reproduces Plug.Crypto.sign/4 (plug_crypto 2.1) step by step:
%%
%%   key     = crypto:pbkdf2_hmac(sha256, Secret, Salt, 1000, 32)
%%   payload = term_to_binary({Data, SignedAtMs, MaxAgeSeconds})
%%   text    = <<"SFMyNTY.", (b64url_nopad(payload))/binary>>
%%   token   = <<text/binary, ".", (b64url_nopad(hmac_sha256(key, text)))/binary>>
%%
%% Run: escript token/testdata/vectors.escript
%% The vectors in interop_test.go were produced by Erlang/OTP 25.
-mode(compile).

-define(SECRET, <<"suzaku-test-secret-key-base-0123456789abcdefghijklmnopqrstuvwxyz">>).
-define(OLD_SECRET, <<"suzaku-old-secret-key-base-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210">>).
-define(SALT, <<"user socket">>).
-define(T, 1700000000000).

main(_) ->
    io:format("// OTP ~s~n", [erlang:system_info(otp_release)]),
    io:format("// key(SECRET, SALT) = ~s~n", [hex(key(?SECRET))]),
    io:format("~n// tokens~n"),
    Tokens = [
        {"string", term_to_binary({<<"user:42">>, ?T, 86400})},
        {"integer", term_to_binary({42, ?T, 86400})},
        {"atom_keys_otp25", term_to_binary({#{user_id => 42, role => admin}, ?T, 86400})},
        {"atom_keys_utf8", term_to_binary({#{user_id => 42, 'josé' => true}, ?T, 86400}, [{minor_version, 2}])},
        {"binary_keys", term_to_binary({#{<<"user_id">> => 42, <<"name">> => <<"José"/utf8>>}, ?T, 86400})},
        {"mixed_keys", term_to_binary({#{1 => a, a => 1, <<"x">> => nil}, ?T, 86400})},
        {"charlist", term_to_binary({[1, 2, 3], ?T, 86400})},
        {"list", term_to_binary({[<<"a">>, 300, -1, nil, true, false, 1.5, []], ?T, 86400})},
        {"tuple", term_to_binary({{user, 42}, ?T, 86400})},
        {"bignums", term_to_binary({[4611686018427387904, -9223372036854775808, 9223372036854775807], ?T, 86400})},
        {"infinity", term_to_binary({<<"x">>, ?T, infinity})},
        {"max_age_3600", term_to_binary({<<"x">>, ?T, 3600})},
        {"max_age_float", term_to_binary({<<"x">>, ?T, 1.5})},
        {"compressed", term_to_binary({binary:copy(<<"abc">>, 100), ?T, 86400}, [compressed])},
        {"legacy_tuple2", term_to_binary({<<"x">>, ?T})},
        {"legacy_map", term_to_binary(#{data => <<"x">>, signed => ?T})}
    ],
    [io:format("{~p, ~p},~n", [Name, sign(?SECRET, P)]) || {Name, P} <- Tokens],
    io:format("{~p, ~p},~n", ["sha512", sign(?SECRET, term_to_binary({<<"user:42">>, ?T, 86400}), sha512)]),
    io:format("{~p, ~p},~n", ["old_secret", sign(?OLD_SECRET, term_to_binary({<<"user:42">>, ?T, 86400}))]),
    io:format("~n// term_to_binary(T, [{minor_version, 2}]) as hex~n"),
    Terms = [
        {"binary", <<"user:42">>},
        {"empty_binary", <<>>},
        {"int_0", 0}, {"int_255", 255}, {"int_256", 256}, {"int_-1", -1},
        {"int_max32", 2147483647}, {"int_min32", -2147483648},
        {"int_max32+1", 2147483648}, {"int_min32-1", -2147483649},
        {"int_ms", ?T}, {"int_max64", 9223372036854775807}, {"int_min64", -9223372036854775808},
        {"float", 1.5}, {"float_neg", -0.1},
        {"atom", admin}, {"nil", nil}, {"true", true}, {"false", false}, {"atom_utf8", 'josé'},
        {"empty_list", []}, {"charlist", [1, 2, 255]}, {"list", [<<"a">>, 256, [1]]},
        {"tuple", {user, 42}}, {"empty_tuple", {}},
        {"map_binary_keys", #{<<"b">> => 1, <<"a">> => [], <<"c">> => #{}}},
        {"map_atom_keys", #{user_id => 42, role => admin}},
        {"map_mixed_keys", #{1 => a, a => 1, <<"x">> => nil}},
        {"envelope", {<<"user:42">>, ?T, 86400}}
    ],
    [io:format("{~p, ~p},~n", [Name, hex(term_to_binary(V, [{minor_version, 2}]))]) || {Name, V} <- Terms],
    ok.

key(Secret) -> crypto:pbkdf2_hmac(sha256, Secret, ?SALT, 1000, 32).

sign(Secret, Payload) -> sign(Secret, Payload, sha256).
sign(Secret, Payload, Digest) ->
    Protected = case Digest of sha256 -> <<"SFMyNTY">>; sha512 -> <<"SFM1MTI">> end,
    Text = <<Protected/binary, ".", (b64(Payload))/binary>>,
    Mac = crypto:mac(hmac, Digest, key(Secret), Text),
    binary_to_list(<<Text/binary, ".", (b64(Mac))/binary>>).

b64(Bin) ->
    S = base64:encode(Bin),
    S1 = binary:replace(binary:replace(S, <<"+">>, <<"-">>, [global]), <<"/">>, <<"_">>, [global]),
    binary:replace(S1, <<"=">>, <<>>, [global]).

hex(Bin) -> string:lowercase(binary_to_list(binary:encode_hex(Bin))).
