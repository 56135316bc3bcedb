// Package auth authenticates the users of a suzaku application: password
// hashing, bearer tokens (the project's signed tokens or JWTs), net/http
// middleware that puts the caller's [Identity] in the request context,
// socket authentication for channel.Socket, and the cross-origin policy of
// cookie-authenticated routes.
//
// # Passwords
//
// [HashPassword] hashes with argon2id into a PHC string such as
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>; [CheckPassword] verifies
// in constant time with the parameters the hash records; [NeedsRehash]
// says when a stored hash was made with other parameters than the current
// ones, so that it can be replaced at the next login. [Hasher] sets the
// parameters.
//
// # Tokens
//
// An [Authenticator] turns a bearer token into an [Identity]. Two are
// provided, both also an [Issuer] for login handlers:
//   - [Signed]: the signed tokens of package token, which a Phoenix
//     application can mint and read (Phoenix.Token);
//   - [JWT]: JSON Web Tokens with an HS256, RS256 or ES256 key set, key
//     rotation by "kid", and checks of expiry, not-before, issuer and
//     audience with a leeway for clock skew. A token is only verified with
//     a key of the algorithm it names, so an HS256 token signed with an RSA
//     public key is rejected, and so is "none".
//
// Authenticate's errors wrap [ErrNoToken], [ErrInvalidToken] or
// [ErrTokenExpired].
//
// # HTTP
//
// A [Middleware] reads "Authorization: Bearer <token>" (or a cookie),
// verifies it and stores the Identity in the context, where handlers read
// it with [FromContext]. [Middleware.Optional] admits anonymous requests;
// [Middleware.Require] answers them 401 with a Bearer challenge and an RFC
// 9457 problem+json body. A rejected token is 401
// WWW-Authenticate: Bearer error="invalid_token" in both modes.
//
// # Sockets
//
// [SocketConnect] is a channel.Config.Connect that verifies the token
// phoenix.js sends (its authToken option, or a "token" param) and makes
// the Identity the socket's assigns; [SocketID] names sockets by user, as
// "users_socket:<sub>", and [Logout] disconnects all of a user's sockets
// through channel.Socket.Disconnect.
//
// # Cross-site request forgery
//
// Browsers attach cookies to cross-site requests on their own; they never
// attach an Authorization header. So:
//   - API routes authenticated by a bearer token in the Authorization
//     header need no CSRF token: a forged cross-site request does not
//     carry the token and is anonymous.
//   - Routes authenticated by a cookie (MiddlewareConfig.Cookie, or a
//     session cookie of the application) that change state (POST, PUT,
//     PATCH, DELETE) must be wrapped in [CrossOrigin], which applies
//     Go's http.CrossOriginProtection: it rejects requests the browser
//     marks as cross-origin through Sec-Fetch-Site or Origin. No token
//     in forms or headers is needed.
//   - Safe methods (GET, HEAD) must not change state.
//
// WebSocket connections are not covered by CORS or by CrossOrigin: the
// transport checks their Origin, and SocketConnect needs an explicit
// token, which a cross-site page does not have.
package auth
