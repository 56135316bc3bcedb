package main

import (
	"strings"
	"testing"
)

func TestBenchClusterRender(t *testing.T) {
	t.Parallel()
	node := func(name string, clustered, origin bool, last, rate, cpu, kib float64) ClusterNodeResult {
		return ClusterNodeResult{
			Name: name, Clustered: clustered, Origin: origin, Subscribers: 5000, DeliveriesPerS: rate, KiBPerConn: kib,
			Rounds: RoundsResult{LastDelivery: Spread{Median: last}, ServerCPUPerDelivery: cpu},
		}
	}
	r := &ClusterResult{
		Broker: "redis://127.0.0.1:6379", Conns: 5000, Rounds: 20,
		Nodes: []ClusterNodeResult{
			node("n0", true, true, 200, 25000, 15, 2.5),
			node("n1", true, false, 210, 24000, 15.5, 2.5),
			node("single", false, false, 120, 40000, 14.8, 2.6),
		},
		RateRatio: 0.6, LastDeliveryRatio: 1.75, MemoryRatio: 0.96, AggregateRate: 49000, AggregateRatio: 1.23, CPURatio: 0.95,
		BrokerRTT: Dist{P50: 0.114, P99: 0.422},
		Notes:     []string{"a note", "a note"},
	}
	out := renderCluster(r)
	for _, want := range []string{
		"| n0 (origin) | 200.0 |",
		"| n1 | 210.0 |",
		"| single node (baseline) | 120.0 |",
		"delivery rate 0.60×, last delivery 1.75×; memory per connection (node 0 ÷ single) 0.96×",
		"49,000 deliveries/s, 1.23×; CPU per delivery (single ÷ costliest clustered node) 0.95×",
		"p50 0.114 ms, p99 0.422 ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("renderCluster() = %q, want it to contain %q", out, want)
		}
	}
	if n := strings.Count(out, "note: a note"); n != 1 {
		t.Errorf("renderCluster() repeats a note %d times, want once", n)
	}
}
