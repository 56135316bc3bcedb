package nats_test

import (
	"context"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/pubsub"
	suzakunats "github.com/suzaku-go/suzaku/pubsub/nats"
	"github.com/suzaku-go/suzaku/stream"
	"github.com/suzaku-go/suzaku/stream/streamtest"
)

// startJetStream runs an in-process NATS server with JetStream until the
// test ends.
func startJetStream(t testing.TB) *natsserver.Server {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir()})
	testutil.Success(t, err)
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(waitFor) {
		t.Fatalf("NATS server not ready after %v", waitFor)
	}
	return s
}

// streamCluster returns n nodes over one JetStream server: a broker and
// its stream store each, both served.
func streamCluster(t *testing.T, srv *natsserver.Server, n int, cfg suzakunats.StreamConfig) []streamtest.Node {
	t.Helper()
	nodes := make([]streamtest.Node, n)
	for i, b := range clusterOn(t, srv, "", n) {
		s, err := suzakunats.NewStreams(b, cfg)
		testutil.Success(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Serve(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Streams.Serve() = %v", err)
			}
		})
		testutil.CheckFor(t, waitFor, func() error {
			_, err := s.Position(context.Background(), "probe")
			return err
		})
		nodes[i] = streamtest.Node{Broker: b, Store: s}
	}
	return nodes
}

// TestNATSStreams runs the stream store suite on three nodes over
// JetStream: offsets and history are the cluster's, and a client
// recovers on another node than the one it left.
func TestNATSStreams(t *testing.T) {
	t.Parallel()
	streamtest.Run(t, 3, func(t *testing.T, n int) []streamtest.Node {
		return streamCluster(t, startJetStream(t), n, suzakunats.StreamConfig{MaxPerTopic: 1000, Storage: jetstream.MemoryStorage})
	})
}

// TestNATSStreamsEpochOnDataLoss: when JetStream loses a topic's messages
// (here a purge; MaxAge and MaxBytes do the same), the topic starts a new
// run in a new epoch and the old position is not recovered.
func TestNATSStreamsEpochOnDataLoss(t *testing.T) {
	t.Parallel()
	srv := startJetStream(t)
	cfg := suzakunats.StreamConfig{Name: "LOSS", Subject: "loss", Storage: jetstream.MemoryStorage}
	node := streamCluster(t, srv, 1, cfg)[0]
	ctx := context.Background()
	var old stream.Position
	for range 5 {
		var err error
		old, err = node.Store.Publish(ctx, &pubsub.Message{Topic: "stream:loss", Event: "e", Payload: []byte(`{}`)}, stream.Limits{})
		testutil.Success(t, err)
	}
	nc, err := nats.Connect(srv.ClientURL())
	testutil.Success(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	testutil.Success(t, err)
	st, err := js.Stream(ctx, "LOSS")
	testutil.Success(t, err)
	testutil.Success(t, st.Purge(ctx))
	for range 7 {
		_, err = node.Store.Publish(ctx, &pubsub.Message{Topic: "stream:loss", Event: "e", Payload: []byte(`{}`)}, stream.Limits{})
		testutil.Success(t, err)
	}
	rec, err := node.Store.Recover(ctx, "stream:loss", old, stream.Limits{})
	testutil.Success(t, err)
	if rec.Recovered || rec.Position.Epoch == old.Epoch || rec.Position.Offset != 7 {
		t.Fatalf("Recover(%+v) after a purge = %+v, want a new epoch at 7, not recovered", old, rec)
	}
}
