#!/usr/bin/env escript
%% verify.escript checks tokens the way Plug.Crypto.verify/4 (plug_crypto
%% 2.1) does and prints, one line per token, the term it holds (~tp) or
%% "error". interop_test.go runs it, when escript is installed, on tokens
%% signed by this package.
%%
%% Run: escript token/testdata/verify.escript SECRET SALT TOKEN...
-mode(compile).

main([Secret, Salt | Tokens]) ->
    ok = io:setopts([{encoding, unicode}]),
    Key = crypto:pbkdf2_hmac(sha256, list_to_binary(Secret), list_to_binary(Salt), 1000, 32),
    [io:format("~ts~n", [verify(Key, list_to_binary(T))]) || T <- Tokens],
    ok.

verify(Key, Token) ->
    case binary:split(Token, <<".">>, [global]) of
        [<<"SFMyNTY">> = P, Payload, Sig] ->
            Mac = crypto:mac(hmac, sha256, Key, <<P/binary, ".", Payload/binary>>),
            case catch {unb64(Payload), unb64(Sig)} of
                {Bin, Mac} ->
                    {Data, SignedAt, MaxAge} = binary_to_term(Bin),
                    io_lib:format("~tp ~p ~p", [Data, SignedAt, MaxAge]);
                _ ->
                    "error"
            end;
        _ ->
            "error"
    end.

unb64(B) ->
    S = binary:replace(binary:replace(B, <<"-">>, <<"+">>, [global]), <<"_">>, <<"/">>, [global]),
    Pad = binary:copy(<<"=">>, (4 - byte_size(S) rem 4) rem 4),
    base64:decode(<<S/binary, Pad/binary>>).
