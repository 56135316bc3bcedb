package suzaku_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/suzaku-go/suzaku"

// TestDependencyRules keeps the package graph pointing one way (see
// docs/architecture.md and docs/adr/0001-dependency-graph.md): each
// package may depend only on the listed project packages and external
// modules, plus the standard library.
func TestDependencyRules(t *testing.T) {
	t.Parallel()
	rules := map[string][]string{
		"wire":                 {"internal/jsonstr"},
		"telemetry":            {},
		"health":               {},
		"dashboard":            {"channel", "transport", "metrics", "presence", "pubsub", "stream", "wire", "internal/jsonstr", "telemetry", "internal/clientip", "internal/closecode", "github.com/gobwas/", "github.com/prometheus/", "github.com/beorn7/perks/", "github.com/cespare/xxhash/", "github.com/munnerz/goautoneg", "google.golang.org/protobuf/", "golang.org/x/sys/"},
		"metrics":              {"telemetry", "github.com/prometheus/", "github.com/beorn7/perks/", "github.com/cespare/xxhash/", "github.com/munnerz/goautoneg", "google.golang.org/protobuf/", "golang.org/x/sys/"},
		"token":                {},
		"pubsub":               {"telemetry"},
		"api":                  {"telemetry"},
		"static":               {},
		"cache/httpcache":      {},
		"internal/closecode":   {},
		"internal/rawbaseline": {"github.com/gobwas/"},
		"pubsub/redis":         {"pubsub", "stream", "telemetry", "github.com/redis/rueidis", "golang.org/x/sys/"},
		"pubsub/nats":          {"pubsub", "stream", "telemetry", "github.com/nats-io/nats.go", "github.com/nats-io/nkeys", "github.com/nats-io/nuid", "github.com/klauspost/compress/", "golang.org/x/crypto/", "golang.org/x/sys/"},
		"presence":             {"pubsub", "telemetry"},
		"stream":               {"pubsub", "telemetry"},
		"channel":              {"wire", "internal/jsonstr", "pubsub", "stream", "telemetry"},
		"transport":            {"channel", "wire", "internal/jsonstr", "pubsub", "stream", "telemetry", "internal/closecode", "internal/clientip", "github.com/gobwas/"},
		"client":               {"wire", "internal/jsonstr", "internal/closecode", "github.com/gobwas/"},
		"cache":                {"pubsub", "telemetry", "github.com/maypok86/otter/"},
		"auth":                 {"token", "api", "channel", "internal/clientip", "wire", "internal/jsonstr", "pubsub", "stream", "telemetry", "github.com/golang-jwt/", "golang.org/x/crypto/", "golang.org/x/sys/"},
		// The one convenience package that opens any broker from a URL
		// (docs/adr/0002-cluster-package.md).
		"cluster": {"pubsub", "presence", "cache", "stream", "telemetry", "github.com/redis/rueidis", "github.com/nats-io/", "github.com/klauspost/compress/", "golang.org/x/crypto/", "golang.org/x/sys/", "github.com/maypok86/otter/"},
	}
	for pkg, allowed := range rules {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"/"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == module+"/"+pkg || ok(dep, allowed) {
				continue
			}
			t.Errorf("%s depends on %s; allowed: %v", pkg, dep, allowed)
		}
	}
}

// leaves are internal packages that import only the standard library and
// that wire builds on: like the standard library, anyone may depend on
// them, so that a new row allowing wire need not list them.
var leaves = map[string]bool{module + "/internal/jsonstr": true}

// TestDependencyAdapters keeps the broker clients in their adapters: a
// memory-only user links no Redis or NATS code. Package cluster, which
// opens any broker from a URL, is the one exception (ADR 2).
func TestDependencyAdapters(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		if !strings.HasPrefix(pkg, module) || strings.HasPrefix(pkg, module+"/pubsub/redis") || strings.HasPrefix(pkg, module+"/pubsub/nats") ||
			strings.HasPrefix(pkg, module+"/cmd/") || strings.HasPrefix(pkg, module+"/examples/") || pkg == module+"/cluster" {
			continue
		}
		for _, imp := range strings.Fields(imports) {
			if strings.HasPrefix(imp, "github.com/redis/") || strings.HasPrefix(imp, "github.com/nats-io/") ||
				strings.HasPrefix(imp, module+"/pubsub/redis") || strings.HasPrefix(imp, module+"/pubsub/nats") {
				t.Errorf("%s imports %s: only the adapters (and cmd/, examples/) may", pkg, imp)
			}
		}
	}
}

func ok(dep string, allowed []string) bool {
	if leaves[dep] {
		return true
	}
	for _, a := range allowed {
		if strings.Contains(a, ".") { // an external module prefix
			if strings.HasPrefix(dep, a) {
				return true
			}
			continue
		}
		if dep == module+"/"+a || strings.HasPrefix(dep, module+"/"+a+"/") && a != "" {
			return true
		}
	}
	return false
}

// TestDependencyLeaves keeps the leaves leaves: they import only the
// standard library.
func TestDependencyLeaves(t *testing.T) {
	t.Parallel()
	for leaf := range leaves {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", leaf).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", leaf, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep != leaf {
				t.Errorf("%s depends on %s: a leaf imports only the standard library", leaf, dep)
			}
		}
	}
}
