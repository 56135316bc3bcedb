package channeltest

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

// ConnectToken connects as phoenix.js does with its authToken option
// (new Socket("/socket", {authToken})): the token reaches Connect as
// [channel.ConnectInfo].AuthToken, not as a parameter. It fails the test
// if Connect refuses.
func (h *Harness) ConnectToken(token string) *Client {
	h.t.Helper()
	c, err := h.TryConnectInfo(&channel.ConnectInfo{AuthToken: token})
	if err != nil {
		h.t.Fatalf("channeltest: connect refused: %v", err)
	}
	return c
}

// TryConnectInfo runs Connect with info as the transport would have filled
// it (AuthToken, Params, Header, RemoteAddr), and returns the refusal
// instead of failing. Params get vsn=2.0.0 and Transport "test" unless
// info sets them.
func (h *Harness) TryConnectInfo(info *channel.ConnectInfo) (*Client, error) {
	in := *info
	in.Params = url.Values{}
	for k, vs := range info.Params {
		in.Params[k] = append([]string(nil), vs...)
	}
	if in.Params.Get("vsn") == "" {
		in.Params.Set("vsn", "2.0.0")
	}
	if in.Transport == "" {
		in.Transport = "test"
	}
	sess, err := h.socket.Connect(context.Background(), &in, wire.V2{})
	if err != nil {
		return nil, err
	}
	c := &Client{h: h, sess: sess, joins: map[string]string{}}
	c.conn.notify = make(chan struct{}, 1)
	if err := sess.Serve(context.Background(), &c.conn); err != nil {
		return nil, err
	}
	h.t.Cleanup(sess.Close)
	return c, nil
}

// Eventually polls f every few milliseconds until it returns nil, and
// fails the test with f's last error if timeout passes first. Use it
// instead of sleeping before an assertion on something asynchronous (a
// socket closed by a logout on another node, a presence that expired).
func Eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	testutil.CheckFor(t, timeout, f)
}

// Main runs a package's tests and fails them if goroutines outlive them:
// call it from TestMain so a test that leaves a socket, a channel or a
// server running is caught.
//
//	func TestMain(m *testing.M) { channeltest.Main(m) }
func Main(m *testing.M) { testutil.Main(m) }
