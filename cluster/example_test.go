package cluster_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/suzaku-go/suzaku"
	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/cluster"
)

// A multi-node application: the broker URL comes from the command line or
// the environment ("memory" for one node), the node name defaults to the
// host name and port, and the Cluster is the server's one service.
func Example() {
	c, err := cluster.New(cluster.Config{Broker: "memory", Node: "web-1"})
	if err != nil {
		panic(err)
	}
	socket, err := channel.NewSocket(channel.Config{Router: &channel.Router{}, Broker: c.Broker()})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := c.Healthy(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	_, err = suzaku.New(suzaku.Config{Handler: mux, Socket: socket, Services: []suzaku.Service{c}})
	fmt.Println(err, c.Node(), c.Kind(), c.Healthy(context.Background()))
	// Output: <nil> web-1 memory <nil>
}

// OpenBroker understands three kinds of URL.
func ExampleOpenBroker() {
	for _, url := range []string{"memory", "redis://127.0.0.1:6379/0", "nats://127.0.0.1:4222?cluster=shop"} {
		b, kind, err := cluster.OpenBroker(url, "web-1", nil)
		fmt.Println(kind, b.Node(), err)
	}
	// Output:
	// memory web-1 <nil>
	// redis web-1 <nil>
	// nats web-1 <nil>
}
