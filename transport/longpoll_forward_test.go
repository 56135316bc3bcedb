package transport_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/transport"
)

// Forwarding between nodes is tested over real brokers in package
// cluster; these tests cover what one node decides alone.

// TestLongPollForwardingOff: with MaxForwarded < 0, tokens name no node.
func TestLongPollForwardingOff(t *testing.T) {
	t.Parallel()
	env := newLP(t, transport.LongPollConfig{MaxForwarded: -1})
	tok := env.open("").token
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{22}\.[0-9]+\.[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("token = %q, want id.expiry.mac without a node", tok)
	}
	testutil.Equal(t, "ForwardStats()", env.lp.ForwardStats(), transport.ForwardStats{})
}

// TestLongPollNodeName: forwarding needs a node name that fits a token.
func TestLongPollNodeName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("n", 97)
	sock, err := channel.NewSocket(channel.Config{Router: &channel.Router{}, Broker: pubsub.NewMemory(pubsub.MemoryConfig{Node: long})})
	testutil.Success(t, err)
	if _, err := transport.NewLongPoll(transport.LongPollConfig{Socket: sock}); err == nil || !strings.Contains(err.Error(), "node name") {
		t.Errorf("NewLongPoll with a 97-byte node name = %v, want a node name error", err)
	}
	_, err = transport.NewLongPoll(transport.LongPollConfig{Socket: sock, MaxForwarded: -1})
	testutil.Success(t, err)
}
