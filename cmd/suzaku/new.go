package main

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"text/template"
)

// templates holds the generated project. Files ending in .tmpl go through
// text/template (the suffix is dropped); the others are copied as they
// are. A leading "_" becomes "." (embed skips dot files).
//
//go:embed all:templates
var templates embed.FS

// modulePath is the framework's module.
const modulePath = "github.com/suzaku-go/suzaku"

// project is what the templates see.
type project struct {
	Name    string // the directory's base name: binary, database file, page title
	Module  string // the generated module's path
	SPA     bool   // generate web/ (Vite + TypeScript + phoenix) and its browser test
	Broker  bool   // open a Redis or NATS broker from BROKER_URL
	Version string // the suzaku version required
	Replace string // absolute path of the suzaku checkout, for a development build
	Require []string
}

var validName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// runNew is "suzaku new".
func runNew(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("suzaku new", flag.ContinueOnError)
	fl.SetOutput(stderr)
	noSPA := fl.Bool("no-spa", false, "generate the Go server only, without web/ and its browser test")
	broker := fl.Bool("broker", false, "read BROKER_URL (redis://… or nats://…) to run several nodes")
	module := fl.String("module", "", "module path of the generated project (default: the directory's name)")
	checkout := fl.String("suzaku", "", "suzaku checkout to build against with a replace directive (default: found from the working directory in a development build)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: suzaku new [-no-spa] [-broker] [-module PATH] [-suzaku DIR] DIR")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errors.New("new: give exactly one directory")
	}
	dir, err := filepath.Abs(fl.Arg(0))
	if err != nil {
		return err
	}
	p := project{Name: filepath.Base(dir), SPA: !*noSPA, Broker: *broker, Module: *module}
	if !validName.MatchString(p.Name) {
		return fmt.Errorf("new: %q: the directory name must be lowercase letters, digits, - or _, starting with a letter", p.Name)
	}
	if p.Module == "" {
		p.Module = p.Name
	}
	if err := p.resolve(*checkout); err != nil {
		return err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("new: %s exists and is not empty", dir)
	}
	if err := p.render(dir); err != nil {
		return err
	}
	if err := p.tidy(ctx, dir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created %s\n\n  cd %s\n  make run     # http://localhost:4000\n  make test\n", dir, fl.Arg(0))
	return nil
}

// buildVersion is the framework version of this binary: a release tag, or
// "(devel)" for a build from a checkout.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Path != modulePath || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}

// isRelease reports whether v is a tagged version, not a development build
// or a pseudo-version.
func isRelease(v string) bool {
	return strings.HasPrefix(v, "v") && !strings.Contains(v, "+dirty") && !regexp.MustCompile(`\d{14}-[0-9a-f]{12}`).MatchString(v)
}

// resolve decides what the generated go.mod requires: a released build
// requires its own version; a development build replaces the framework
// with the checkout it runs from (or -suzaku), and copies the checkout's
// requirements so that the project builds without a network.
func (p *project) resolve(checkout string) error {
	v := buildVersion()
	if checkout == "" && isRelease(v) {
		p.Version = v
		return nil
	}
	if checkout == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		checkout = findCheckout(wd)
		if checkout == "" {
			checkout = builtFrom()
		}
		if checkout == "" {
			return errors.New("new: this is a development build, and neither the working directory nor the build's source is in a suzaku checkout: run it from the checkout, or pass -suzaku DIR")
		}
	}
	abs, err := filepath.Abs(checkout)
	if err != nil {
		return err
	}
	req, err := requirements(filepath.Join(abs, "go.mod"))
	if err != nil {
		return fmt.Errorf("new: -suzaku %s: %w", checkout, err)
	}
	p.Replace, p.Require, p.Version = abs, req, "v0.0.0-00010101000000-000000000000"
	return nil
}

// builtFrom returns the checkout this binary was compiled from (go install
// or go build in a checkout, without -trimpath), if it is still there, or "".
func builtFrom() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return ""
	}
	dir := filepath.Dir(filepath.Dir(filepath.Dir(file))) // …/cmd/suzaku/new.go → the module root
	if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleOf(b) == modulePath {
		return dir
	}
	return ""
}

// findCheckout returns the nearest directory at or above dir whose go.mod
// declares the framework's module, or "".
func findCheckout(dir string) string {
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleOf(b) == modulePath {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func moduleOf(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// requirements reads the "path version" requirements of a go.mod.
func requirements(gomod string) ([]string, error) {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return nil, err
	}
	if moduleOf(b) != modulePath {
		return nil, fmt.Errorf("%s is not suzaku's go.mod", gomod)
	}
	var req []string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		line = strings.TrimSpace(line)
		switch {
		case line == "require (":
			in = true
		case in && line == ")":
			in = false
		case in && line != "":
			req = append(req, line)
		case strings.HasPrefix(line, "require "):
			req = append(req, strings.TrimSpace(strings.TrimPrefix(line, "require ")))
		}
	}
	return req, sc.Err()
}

// render writes the templates into dir.
func (p *project) render(dir string) error {
	return fs.WalkDir(templates, "templates", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(name, "templates/")
		if !p.SPA && (strings.HasPrefix(rel, "web/") || rel == "spa.go.tmpl") {
			return nil
		}
		src, err := templates.ReadFile(name)
		if err != nil {
			return err
		}
		out := src
		if strings.HasSuffix(rel, ".tmpl") {
			rel = strings.TrimSuffix(rel, ".tmpl")
			t, err := template.New(rel).Parse(string(src))
			if err != nil {
				return fmt.Errorf("new: template %s: %w", rel, err)
			}
			var buf bytes.Buffer
			if err := t.Execute(&buf, p); err != nil {
				return fmt.Errorf("new: template %s: %w", rel, err)
			}
			out = buf.Bytes()
		}
		if base := path.Base(rel); strings.HasPrefix(base, "_") {
			rel = path.Join(path.Dir(rel), "."+base[1:])
		}
		dst := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		return os.WriteFile(dst, out, mode)
	})
}

// tidy completes go.mod and go.sum. A development build copies the
// checkout's go.sum and tidies from the module cache only (GOPROXY=off),
// keeping the full requirement list if that fails; a release build runs
// go mod tidy with the network.
func (p *project) tidy(ctx context.Context, dir string) error {
	env := os.Environ()
	if p.Replace != "" {
		sum, err := os.ReadFile(filepath.Join(p.Replace, "go.sum"))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
			return err
		}
		env = append(env, "GOPROXY=off", "GOFLAGS=-mod=mod")
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil && p.Replace == "" {
		return fmt.Errorf("new: go mod tidy: %w\n%s", err, out)
	}
	return nil
}
