package channeltest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/channel/channeltest"
)

type echo struct{}

func (echo) Join(context.Context, *channel.Channel, channel.Payload) (any, error) { return nil, nil }

func (echo) HandleIn(ctx context.Context, ch *channel.Channel, event string, p channel.Payload) channel.Reply {
	return channel.OK(p)
}

func Example() {
	t := &testing.T{} // in a real test, the *testing.T you are given
	router := &channel.Router{}
	_ = router.Handle("echo:*", func() channel.Handler { return echo{} })
	h := channeltest.New(t, channel.Config{Router: router})

	c := h.Connect(nil)
	c.MustJoin("echo:1", nil)
	ref := c.Push("echo:1", "say", map[string]string{"word": "hello"})
	r := c.AssertReply(ref, "ok", map[string]string{"word": "hello"})
	fmt.Println(r.Status, string(r.Response))
	// Output: ok {"word":"hello"}
}

// Connect as phoenix.js does with {authToken: token}: the token reaches
// Config.Connect as ConnectInfo.AuthToken.
func ExampleHarness_ConnectToken() {
	t := &testing.T{} // in a real test, the *testing.T you are given
	connect := func(_ context.Context, info *channel.ConnectInfo) (any, error) {
		if info.AuthToken != "s3cret" {
			return nil, fmt.Errorf("bad token")
		}
		return "ann", nil
	}
	h := channeltest.New(t, channel.Config{Connect: connect})
	c := h.ConnectToken("s3cret")
	user, _ := channel.SessionAssignsAs[string](c.Session())
	_, err := h.TryConnectInfo(&channel.ConnectInfo{AuthToken: "forged"})
	fmt.Println(user, err)
	// Output: ann bad token
}
