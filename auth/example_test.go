package auth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/channel"
)

func Example() {
	// In production, load the key from configuration and give it an ID.
	jwts, err := auth.NewJWT(auth.JWTConfig{
		Keys:     []auth.Key{{ID: "2025-06", Key: []byte("a-secret-of-at-least-32-bytes-long!")}},
		Issuer:   "https://chat.example",
		Audience: []string{"chat-api"},
	})
	if err != nil {
		panic(err)
	}
	mw, err := auth.NewMiddleware(auth.MiddlewareConfig{Authenticator: jwts})
	if err != nil {
		panic(err)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /api/me", mw.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", id.Subject)
	})))

	// A login handler issues the token after checking the password.
	tok, err := jwts.Issue(auth.Identity{Subject: "ada"})
	if err != nil {
		panic(err)
	}

	r := httptest.NewRequest("GET", "/api/me", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Body.String())

	w = httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest("GET", "/api/me", nil))
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	// Output:
	// 200 hello ada
	// 401 Bearer
}

func ExampleHasher() {
	// Production code uses HashPassword, CheckPassword and NeedsRehash,
	// with the defaults; small parameters keep this example fast.
	h := auth.Hasher{Memory: 64, Time: 1}
	hash, err := h.Hash("correct horse battery staple")
	if err != nil {
		panic(err)
	}
	ok, err := h.Check(hash, "correct horse battery staple")
	fmt.Println(ok, err)
	ok, err = h.Check(hash, "Tr0ub4dor&3")
	fmt.Println(ok, err)
	// At the next login, upgrade hashes made with weaker parameters.
	fmt.Println(auth.NeedsRehash(hash))
	// Output:
	// true <nil>
	// false <nil>
	// true
}

func ExampleSocketConnect() {
	jwts, err := auth.NewJWT(auth.JWTConfig{Keys: []auth.Key{{Key: []byte("a-secret-of-at-least-32-bytes-long!")}}})
	if err != nil {
		panic(err)
	}
	socket, err := channel.NewSocket(channel.Config{
		Connect: auth.SocketConnect(jwts),      // new Socket("/socket", {authToken: token})
		ID:      auth.SocketID("users_socket"), // Logout(ctx, socket.Disconnect, "users_socket", sub)
	})
	if err != nil {
		panic(err)
	}
	tok, _ := jwts.Issue(auth.Identity{Subject: "42"})
	session, err := socket.Connect(context.Background(), &channel.ConnectInfo{Params: url.Values{"token": {tok}}}, nil)
	if err != nil {
		panic(err)
	}
	defer session.Close()
	fmt.Println(session.ID())
	// Output: users_socket:42
}

func ExampleCrossOrigin() {
	h := auth.CrossOrigin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "room created")
	}))
	for _, site := range []string{"same-origin", "cross-site"} {
		r := httptest.NewRequest("POST", "https://chat.example/rooms", nil)
		r.Header.Set("Sec-Fetch-Site", site)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(site, w.Code)
	}
	// Output:
	// same-origin 200
	// cross-site 403
}
