// Package flagenv reads every flag of a command also from the
// environment, as operators expect of a server: flag -drain-delay is
// SUZAKU_DRAIN_DELAY. A flag given on the command line wins over the
// environment, which wins over the default. It also prints the effective
// configuration with secrets redacted.
package flagenv

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
)

// Source says where a flag's value came from.
type Source string

// Sources of a value.
const (
	FromDefault Source = "default"
	FromFlag    Source = "flag"
	FromEnv     Source = "env"
)

// Set is a parsed command line: the flags and where each value came from.
type Set struct {
	fs      *flag.FlagSet
	prefix  string
	sources map[string]Source
}

// EnvName returns the environment variable of flag name: prefix, then the
// name in upper case with '-' and '.' as '_' ("drain-delay" →
// "SUZAKU_DRAIN_DELAY").
func EnvName(prefix, name string) string {
	return prefix + strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == '.':
			return '_'
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return r
	}, name)
}

// Parse parses args into fs (which should use flag.ContinueOnError), then
// sets every flag not given on the command line from its environment
// variable (see [EnvName]) when that is set, through the flag's own Set,
// so that a bad value is refused the same way. The error is one line that
// names the setting: `-drain-delay (SUZAKU_DRAIN_DELAY): invalid value
// "soon": time: invalid duration "soon"`. lookup is os.LookupEnv when nil.
func Parse(fs *flag.FlagSet, args []string, prefix string, lookup func(string) (string, bool)) (*Set, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	fs.SetOutput(io.Discard) // the caller prints the one-line error
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(os.Stderr)
			usage(fs, prefix)
			return nil, err
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (settings are flags: -name value)", fs.Arg(0))
	}
	s := &Set{fs: fs, prefix: prefix, sources: map[string]Source{}}
	fs.VisitAll(func(f *flag.Flag) { s.sources[f.Name] = FromDefault })
	fs.Visit(func(f *flag.Flag) { s.sources[f.Name] = FromFlag })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || s.sources[f.Name] == FromFlag {
			return
		}
		env := EnvName(prefix, f.Name)
		v, ok := lookup(env)
		if !ok {
			return
		}
		if e := fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("-%s (%s): invalid value %q: %v", f.Name, env, v, e)
			return
		}
		s.sources[f.Name] = FromEnv
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Source returns where flag name's value came from.
func (s *Set) Source(name string) Source { return s.sources[name] }

// Invalid returns the one-line error for a value of flag name that parsed
// but is not acceptable, naming the flag and its environment variable.
func (s *Set) Invalid(name string, why error) error {
	f := s.fs.Lookup(name)
	v := ""
	if f != nil {
		v = f.Value.String()
	}
	return fmt.Errorf("-%s (%s): invalid value %q: %v", name, EnvName(s.prefix, name), v, why)
}

// Print writes the effective configuration: one line per flag with its
// value, redacted by [Redact], and its source.
func (s *Set) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "effective configuration:")
	var names []string
	s.fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	sort.Strings(names)
	for _, n := range names {
		f := s.fs.Lookup(n)
		src := string(s.sources[n])
		if s.sources[n] == FromEnv {
			src += " " + EnvName(s.prefix, n)
		}
		fmt.Fprintf(tw, "  -%s\t%s\t(%s)\n", n, Redact(n, f.Value.String()), src)
	}
	tw.Flush()
}

// secretWords mark a flag whose whole value is secret.
var secretWords = []string{"secret", "password", "passwd", "token", "key", "credential"}

// Redact returns value fit to print: "[redacted]" for a flag whose name
// says it is secret (secret, password, token, key...), a URL or DSN with
// its password replaced, else value itself.
func Redact(name, value string) string {
	if value == "" {
		return value
	}
	lname := strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(lname, w) {
			return "[redacted]"
		}
	}
	if u, err := url.Parse(value); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			return u.String()
		}
		if strings.Contains(lname, "dsn") || strings.Contains(lname, "url") {
			return u.String()
		}
	}
	// key=value DSNs (PostgreSQL's "host=… password=…").
	if strings.Contains(value, "password=") {
		fields := strings.Fields(value)
		for i, f := range fields {
			if strings.HasPrefix(f, "password=") {
				fields[i] = "password=redacted"
			}
		}
		return strings.Join(fields, " ")
	}
	return value
}

func usage(fs *flag.FlagSet, prefix string) {
	fmt.Fprintf(fs.Output(), "Usage of %s (every flag is also read from %sNAME):\n", fs.Name(), prefix)
	fs.VisitAll(func(f *flag.Flag) {
		fmt.Fprintf(fs.Output(), "  -%s (%s)\n    \t%s", f.Name, EnvName(prefix, f.Name), f.Usage)
		if f.DefValue != "" {
			fmt.Fprintf(fs.Output(), " (default %q)", f.DefValue)
		}
		fmt.Fprintln(fs.Output())
	})
}
