package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/suzaku-go/suzaku/channel"
	"github.com/suzaku-go/suzaku/metrics"
)

// Metrics is the socket's hook and the handler of GET /metrics.
func Example() {
	m, err := metrics.New(metrics.Config{NoRuntime: true})
	if err != nil {
		panic(err)
	}
	router := &channel.Router{}
	sock, _ := channel.NewSocket(channel.Config{Router: router, Hook: m})
	_ = sock // serve it with suzaku.New(suzaku.Config{Socket: sock, ...})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "suzaku_channels ") || strings.HasPrefix(line, "suzaku_messages_") {
			fmt.Println(line)
		}
	}
	// Output:
	// suzaku_channels 0
	// suzaku_messages_received_total 0
	// suzaku_messages_sent_total 0
}
