package cluster

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/suzaku-go/suzaku/pubsub"
	"github.com/suzaku-go/suzaku/pubsub/nats"
	"github.com/suzaku-go/suzaku/pubsub/redis"
	"github.com/suzaku-go/suzaku/telemetry"
)

// DefaultReconnectWait is the longest wait between two attempts to reach
// the broker after it was lost: 1 s, so that cross-node delivery and
// presence resume within a few seconds of the broker's return (the
// adapters' own default, Phoenix's 5 s, could take up to 6 s alone).
const DefaultReconnectWait = time.Second

// DefaultName is the cluster name when a broker URL has no "cluster"
// parameter: the Redis channel, or the NATS subject prefix, that the
// nodes of one cluster share.
const DefaultName = "suzaku"

// Kinds of broker, as [Cluster.Kind] reports them.
const (
	KindMemory = "memory"
	KindRedis  = "redis"
	KindNATS   = "nats"
)

// OpenBroker returns the broker that rawURL names, for the node called
// node, without connecting it: run its Serve method (a suzaku.Service) to
// connect, or use a [Cluster], which does. rawURL is one of
//
//	memory                         one node, no network (also "")
//	redis://[:PASSWORD@]HOST:PORT[/DB]   Redis pub/sub ("rediss://" for TLS)
//	nats://HOST:PORT[,nats://HOST:PORT]  NATS core pub/sub ("tls://" for TLS)
//
// Both network URLs take an optional query parameter cluster=NAME, which
// names the cluster (default [DefaultName]): nodes with different names
// share the server without hearing each other. The Redis URL takes the
// rueidis URL parameters too (dial_timeout, …). It also returns the kind
// of broker: [KindMemory], [KindRedis] or [KindNATS].
//
// The broker logs its connection events on log (nil discards).
func OpenBroker(rawURL, node string, log *slog.Logger) (pubsub.Broker, string, error) {
	return openBroker(rawURL, node, log, nil)
}

// openBroker is OpenBroker with a telemetry hook for the broker.
func openBroker(rawURL, node string, log *slog.Logger, hook telemetry.Hook) (pubsub.Broker, string, error) {
	if node == "" {
		return nil, "", fmt.Errorf("cluster: open broker %q: empty node name", redact(rawURL))
	}
	if rawURL == "" || rawURL == KindMemory {
		return pubsub.NewMemory(pubsub.MemoryConfig{Node: node, Hook: hook}), KindMemory, nil
	}
	base, rawQuery, _ := strings.Cut(rawURL, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("cluster: open broker %q: %w", redact(rawURL), err)
	}
	name := cmp.Or(q.Get("cluster"), DefaultName)
	q.Del("cluster")
	scheme, _, _ := strings.Cut(base, "://")
	switch scheme {
	case "redis", "rediss":
		if rest := q.Encode(); rest != "" {
			base += "?" + rest
		}
		opt, err := rueidis.ParseURL(base)
		if err != nil {
			return nil, "", fmt.Errorf("cluster: open broker %q: %w", redact(rawURL), err)
		}
		opt.DisableCache = true // the broker needs no client-side caching
		b, err := redis.New(redis.Config{Node: node, ClientOption: &opt, Channel: name, ReconnectWait: DefaultReconnectWait, Logger: log, Hook: hook})
		if err != nil {
			return nil, "", fmt.Errorf("cluster: open broker %q: %w", redact(rawURL), err)
		}
		return b, KindRedis, nil
	case "nats", "tls":
		if len(q) > 0 {
			return nil, "", fmt.Errorf("cluster: open broker %q: unknown parameters %q", redact(rawURL), q.Encode())
		}
		for s := range strings.SplitSeq(base, ",") {
			if u, err := url.Parse(strings.TrimSpace(s)); err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "tls") {
				return nil, "", fmt.Errorf("cluster: open broker %q: bad server %q: want nats://HOST:PORT", redact(rawURL), redact(s))
			}
		}
		b, err := nats.New(nats.Config{Node: node, URL: base, Prefix: name, ReconnectWait: DefaultReconnectWait, Logger: log, Hook: hook})
		if err != nil {
			return nil, "", fmt.Errorf("cluster: open broker %q: %w", redact(rawURL), err)
		}
		return b, KindNATS, nil
	}
	return nil, "", fmt.Errorf("cluster: open broker %q: want memory, redis://HOST:PORT[/DB] or nats://HOST:PORT", redact(rawURL))
}

// redact hides a URL's password in errors and logs.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		if i := strings.LastIndexByte(rawURL, '@'); i >= 0 {
			return "…" + rawURL[i:]
		}
		return rawURL
	}
	return u.Redacted()
}
