package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/suzaku-go/suzaku/channel"
)

// SocketConnect returns a channel.Config.Connect function that
// authenticates sockets with a: the token is the one phoenix.js sends with
// its authToken option (ConnectInfo.AuthToken), or else the "token"
// connect parameter (new Socket("/socket", {params: {token}})). The
// socket's assigns are the *Identity. A connection without a valid token is
// refused (HTTP 403 on the upgrade); the error wraps ErrNoToken or
// ErrInvalidToken. For sockets that also admit anonymous users, call
// a.Authenticate in a Connect function of your own.
func SocketConnect(a Authenticator) func(ctx context.Context, info *channel.ConnectInfo) (any, error) {
	return func(ctx context.Context, info *channel.ConnectInfo) (any, error) {
		if info == nil {
			return nil, fmt.Errorf("auth: socket connect: %w", ErrNoToken)
		}
		tok := info.AuthToken
		if tok == "" {
			tok = info.Params.Get("token")
		}
		id, err := a.Authenticate(ctx, tok)
		if err != nil {
			return nil, fmt.Errorf("auth: socket connect: %w", err)
		}
		return id, nil
	}
}

// SocketID returns a channel.Config.ID function that names a socket
// prefix + ":" + its identity's Subject, as Phoenix's
// id(socket), "users_socket:#{socket.assigns.user_id}", does:
// SocketID("users_socket") names user 42's sockets "users_socket:42".
// Sockets whose assigns are not an *Identity stay anonymous. The id is
// what [Logout] disconnects.
func SocketID(prefix string) func(assigns any) string {
	return func(assigns any) string {
		id, ok := assigns.(*Identity)
		if !ok || id == nil || id.Subject == "" {
			return ""
		}
		return prefix + ":" + id.Subject
	}
}

// Logout closes every socket of subject named by SocketID(prefix), on
// every node, through disconnect, which is channel.Socket.Disconnect:
//
//	auth.Logout(ctx, socket.Disconnect, "users_socket", id.Subject)
//
// The clients reconnect, and their Connect must then fail: revoke the
// user's tokens (or let them expire) before calling Logout.
func Logout(ctx context.Context, disconnect func(ctx context.Context, id string) error, prefix, subject string) error {
	if subject == "" {
		return errors.New("auth: logout: empty subject")
	}
	if err := disconnect(ctx, prefix+":"+subject); err != nil {
		return fmt.Errorf("auth: logout %q: %w", subject, err)
	}
	return nil
}
