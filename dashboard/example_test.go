package dashboard_test

import (
	"fmt"
	"net/http"

	"github.com/suzaku-go/suzaku/dashboard"
	"github.com/suzaku-go/suzaku/metrics"
)

// Mount the dashboard under /ops/, behind Basic credentials, and run it as
// a service (suzaku.Config.Services) so that it publishes its figures.
func Example() {
	m, _ := metrics.New(metrics.Config{}) // also channel.Config.Hook
	d, err := dashboard.New(dashboard.Config{
		Authorize: dashboard.BasicAuth("ops", "a long operator password"),
		Metrics:   m,
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops", d))
	_, err = dashboard.New(dashboard.Config{Metrics: m})
	fmt.Println(err)
	// Output: dashboard: Config.Authorize is nil: the dashboard must be protected
}
