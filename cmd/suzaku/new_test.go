package main

import (
	"bytes"
	"context"
	"go/format"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

// generate runs "suzaku new" with args and returns the project's files.
func generate(t *testing.T, args ...string) (string, []string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "demo")
	var out bytes.Buffer
	testutil.Success(t, run(context.Background(), append(append([]string{"new"}, args...), dir), &out, io.Discard))
	if !strings.Contains(out.String(), "make run") {
		t.Errorf("output = %q, want the two commands", out.String())
	}
	var files []string
	testutil.Success(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	}))
	return dir, files
}

func TestSuzakuNewOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		args      []string
		has, lack []string
	}{
		{"default", nil, []string{"main.go", "room.go", "spa.go", "web/src/main.ts", "web/package-lock.json", "web/tests/run.sh", ".gitignore", "go.sum"}, nil},
		{"no SPA, broker", []string{"-no-spa", "-broker"}, []string{"main.go", "app_test.go"}, []string{"spa.go", "web/src/main.ts"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir, files := generate(t, tt.args...)
			for _, f := range tt.has {
				if !slices.Contains(files, f) {
					t.Errorf("missing %s in %v", f, files)
				}
			}
			for _, f := range tt.lack {
				if slices.Contains(files, f) {
					t.Errorf("unexpected %s", f)
				}
			}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				testutil.Success(t, err)
				if strings.Contains(string(b), "{{") && !strings.HasSuffix(f, ".json") {
					t.Errorf("%s: unexpanded template action", f)
				}
				if strings.HasSuffix(f, ".go") {
					if src, err := format.Source(b); err != nil || !bytes.Equal(src, b) {
						t.Errorf("%s is not gofmt'd (%v)", f, err)
					}
				}
			}
			mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			testutil.Success(t, err)
			root, _ := filepath.Abs("../..")
			if !strings.Contains(string(mod), "replace github.com/suzaku-go/suzaku => "+root) {
				t.Errorf("go.mod has no replace to the checkout:\n%s", mod)
			}
			if testing.Short() {
				return
			}
			cmd := exec.Command("go", "vet", "./...")
			cmd.Dir, cmd.Env = dir, append(os.Environ(), "GOPROXY=off", "GOFLAGS=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go vet in the generated project: %v\n%s", err, out)
			}
		})
	}
}

func TestSuzakuNewRefuses(t *testing.T) {
	t.Parallel()
	full := filepath.Join(t.TempDir(), "full")
	testutil.Success(t, os.Mkdir(full, 0o755))
	testutil.Success(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no verb", nil, "help"},
		{"unknown verb", []string{"make"}, `unknown verb "make"`},
		{"no directory", []string{"new"}, "exactly one directory"},
		{"bad name", []string{"new", filepath.Join(t.TempDir(), "My App")}, "lowercase"},
		{"not empty", []string{"new", full}, "not empty"},
		{"not a checkout", []string{"new", "-suzaku", t.TempDir(), filepath.Join(t.TempDir(), "demo")}, "go.mod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := run(context.Background(), tt.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}

// TestSuzakuNewLockMatchesChat keeps the generated SPA on the npm versions
// the chat example pins and tests.
func TestSuzakuNewLockMatchesChat(t *testing.T) {
	t.Parallel()
	chat, err := os.ReadFile("../../examples/chat/web/package-lock.json")
	testutil.Success(t, err)
	tmpl, err := templates.ReadFile("templates/web/package-lock.json.tmpl")
	testutil.Success(t, err)
	want := strings.ReplaceAll(string(chat), `"suzaku-chat-web"`, `"{{.Name}}-web"`)
	if string(tmpl) != want {
		t.Fatal("templates/web/package-lock.json.tmpl differs from examples/chat/web/package-lock.json: copy it over (with the name templated)")
	}
}

func TestSuzakuIsRelease(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]bool{
		"v1.2.3": true, "v0.4.0-rc.1": true, "(devel)": false,
		"v0.0.0-20261203081610-aa85f4e0c1d2": false, "v1.2.4-0.20261203081610-aa85f4e0c1d2+dirty": false,
	} {
		testutil.Equal(t, "isRelease("+v+")", isRelease(v), want)
	}
}

// TestSuzakuNewOutsideCheckout runs the tool from a directory outside any
// checkout: a development build finds the checkout it was built from.
func TestSuzakuNewOutsideCheckout(t *testing.T) {
	root, err := filepath.Abs("../..")
	testutil.Success(t, err)
	t.Chdir(t.TempDir())
	testutil.Success(t, run(context.Background(), []string{"new", "-no-spa", "app"}, io.Discard, io.Discard))
	mod, err := os.ReadFile(filepath.Join("app", "go.mod"))
	testutil.Success(t, err)
	if !strings.Contains(string(mod), "replace github.com/suzaku-go/suzaku => "+root) {
		t.Fatalf("go.mod has no replace to %s:\n%s", root, mod)
	}
}
