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
		"wire":                 {},
		"token":                {},
		"pubsub":               {},
		"api":                  {},
		"static":               {},
		"cache/httpcache":      {},
		"internal/closecode":   {},
		"internal/rawbaseline": {"github.com/gobwas/"},
		"presence":             {"pubsub"},
		"channel":              {"wire", "pubsub"},
		"transport":            {"channel", "wire", "pubsub", "internal/closecode", "github.com/gobwas/"},
		"client":               {"wire", "internal/closecode", "github.com/gobwas/"},
		"cache":                {"pubsub", "github.com/maypok86/otter/"},
		"auth":                 {"token", "channel", "wire", "pubsub", "github.com/golang-jwt/", "golang.org/x/crypto/", "golang.org/x/sys/"},
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

func ok(dep string, allowed []string) bool {
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
