package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/auth"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/wire"
)

const waitFor = 5 * time.Second

func TestAuthSocketConnect(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		info      *channel.ConnectInfo
		wantSub   string
		wantError error
	}{
		{name: "authToken", info: &channel.ConnectInfo{AuthToken: "good"}, wantSub: "42"},
		{name: "token param", info: &channel.ConnectInfo{Params: url.Values{"token": {"good"}, "vsn": {"2.0.0"}}}, wantSub: "42"},
		{name: "authToken before the param", info: &channel.ConnectInfo{AuthToken: "forged", Params: url.Values{"token": {"good"}}}, wantError: auth.ErrInvalidToken},
		{name: "no token", info: &channel.ConnectInfo{Params: url.Values{"vsn": {"2.0.0"}}}, wantError: auth.ErrNoToken},
		{name: "nil info", wantError: auth.ErrNoToken},
		{name: "invalid", info: &channel.ConnectInfo{AuthToken: "forged"}, wantError: auth.ErrInvalidToken},
		{name: "expired", info: &channel.ConnectInfo{AuthToken: "expired"}, wantError: auth.ErrTokenExpired},
	}
	connect := auth.SocketConnect(&fakeAuth{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assigns, err := connect(t.Context(), tt.info)
			if tt.wantError != nil {
				testutil.ErrorIs(t, err, tt.wantError)
				return
			}
			testutil.Success(t, err)
			id, ok := assigns.(*auth.Identity)
			testutil.Equal(t, "assigns is an *Identity", ok, true)
			testutil.Equal(t, "Subject", id.Subject, tt.wantSub)
		})
	}
}

func TestAuthSocketID(t *testing.T) {
	t.Parallel()
	id := auth.SocketID("users_socket")
	tests := []struct {
		name    string
		assigns any
		want    string
	}{
		{name: "identity", assigns: &auth.Identity{Subject: "42"}, want: "users_socket:42"},
		{name: "nil", assigns: nil, want: ""},
		{name: "nil identity", assigns: (*auth.Identity)(nil), want: ""},
		{name: "empty subject", assigns: &auth.Identity{}, want: ""},
		{name: "other assigns", assigns: map[string]any{"user_id": 42}, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "SocketID()", id(tt.assigns), tt.want)
		})
	}
}

// fakeConn is a channel.Conn that records its close code.
type fakeConn struct {
	mu     sync.Mutex
	closed []int
}

func (c *fakeConn) Send(wire.Frame) error { return nil }

func (c *fakeConn) Close(code int, _ string) {
	c.mu.Lock()
	c.closed = append(c.closed, code)
	c.mu.Unlock()
}

func (c *fakeConn) closes() []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.closed...)
}

// TestAuthSocketLogout connects sockets through a channel.Socket with
// SocketConnect and SocketID (a JWT in phoenix.js's authToken), then logs
// one user out: that user's connections close, the others stay.
func TestAuthSocketLogout(t *testing.T) {
	t.Parallel()
	j := newJWT(t, auth.JWTConfig{Keys: []auth.Key{{Key: hsSecret}}})
	socket, err := channel.NewSocket(channel.Config{
		Broker:  pubsub.NewMemory(pubsub.MemoryConfig{}),
		Connect: auth.SocketConnect(j),
		ID:      auth.SocketID("users_socket"),
	})
	testutil.Success(t, err)
	connect := func(sub string) *fakeConn {
		t.Helper()
		tok, err := j.Issue(auth.Identity{Subject: sub})
		testutil.Success(t, err)
		session, err := socket.Connect(t.Context(), &channel.ConnectInfo{AuthToken: tok}, nil)
		testutil.Success(t, err)
		testutil.Equal(t, "session ID", session.ID(), "users_socket:"+sub)
		conn := &fakeConn{}
		testutil.Success(t, session.Serve(t.Context(), conn))
		t.Cleanup(session.Close)
		return conn
	}
	ada1, ada2, bob := connect("ada"), connect("ada"), connect("bob")

	_, err = socket.Connect(t.Context(), &channel.ConnectInfo{Params: url.Values{"token": {"forged"}}}, nil)
	testutil.ErrorIs(t, err, auth.ErrInvalidToken)

	testutil.Success(t, auth.Logout(t.Context(), socket.Disconnect, "users_socket", "ada"))
	testutil.CheckFor(t, waitFor, func() error {
		for _, c := range []*fakeConn{ada1, ada2} {
			if got := c.closes(); len(got) != 1 || got[0] != channel.CloseGoingAway {
				return fmt.Errorf("ada's connection closes = %v, want [%d]", got, channel.CloseGoingAway)
			}
		}
		return nil
	})
	testutil.Equal(t, "bob's connection closes", bob.closes(), []int(nil))

	testutil.Error(t, auth.Logout(t.Context(), socket.Disconnect, "users_socket", ""))
	boom := errors.New("boom")
	var gotID string
	err = auth.Logout(t.Context(), func(_ context.Context, id string) error { gotID = id; return boom }, "users_socket", "42")
	testutil.ErrorIs(t, err, boom)
	testutil.Equal(t, "disconnected id", gotID, "users_socket:42")
}
