// Package cluster composes what the nodes of one application share: it
// opens a broker from a URL, names the node, and runs presence and
// caches over that broker in the right order, so that a multi-node app
// is the single-node app plus one URL:
//
//	c, err := cluster.New(cluster.Config{Broker: os.Getenv("SUZAKU_BROKER"), Addr: addr})
//	socket, err := channel.NewSocket(channel.Config{Broker: c.Broker(), …})
//	srv, err := suzaku.New(suzaku.Config{Socket: socket, Services: []suzaku.Service{c}, …})
//
// and Healthy(ctx) answers readiness.
//
// # Brokers
//
// [OpenBroker] understands "memory", "redis://HOST:PORT[/DB]" and
// "nats://HOST:PORT". This package imports both network adapters (Redis
// and NATS); an application that wants no network client in its binary
// uses pubsub.NewMemory directly, or imports only the adapter it needs.
//
// # Node names
//
// Every node of a cluster needs its own name: brokers address direct
// messages by it and drop a node's own broadcasts by it. [DefaultNode]
// makes one from the host name and the listening port. Two live nodes
// with one name lose each other's broadcasts; the broker detects it and
// [Cluster.Healthy] reports it ([pubsub.ErrDuplicateNode]).
//
// # Presence
//
// The tracker's DownPeriod defaults to [DefaultDownPeriod] (10 s), so a
// node that dies leaves the others' lists within about 10 s, and a node
// that stops cleanly says so at once (presence.Config.PermdownOnShutdown,
// on by default here).
package cluster
