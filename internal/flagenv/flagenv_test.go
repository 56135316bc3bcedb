package flagenv_test

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/suzaku-go/suzaku/internal/flagenv"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestMain(m *testing.M) { testutil.Main(m) }

type settings struct {
	addr   string
	delay  time.Duration
	json   bool
	secret string
	dsn    string
}

func newFlags(s *settings) *flag.FlagSet {
	fs := flag.NewFlagSet("app", flag.ContinueOnError)
	fs.StringVar(&s.addr, "addr", "127.0.0.1:4000", "address")
	fs.DurationVar(&s.delay, "drain-delay", time.Second, "delay")
	fs.BoolVar(&s.json, "log-json", false, "json logs")
	fs.StringVar(&s.secret, "token-secret", "", "secret")
	fs.StringVar(&s.dsn, "dsn", "", "database")
	return fs
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestFlagEnvPrecedence(t *testing.T) {
	t.Parallel()
	var s settings
	set, err := flagenv.Parse(newFlags(&s), []string{"-addr", "0.0.0.0:1"}, "SUZAKU_", env(map[string]string{
		"SUZAKU_ADDR":        "ignored:2", // the flag wins
		"SUZAKU_DRAIN_DELAY": "3s",
		"SUZAKU_LOG_JSON":    "true",
	}))
	testutil.Success(t, err)
	testutil.Equal(t, "addr", s.addr, "0.0.0.0:1")
	testutil.Equal(t, "drain-delay", s.delay, 3*time.Second)
	testutil.Equal(t, "log-json", s.json, true)
	testutil.Equal(t, "addr source", set.Source("addr"), flagenv.FromFlag)
	testutil.Equal(t, "delay source", set.Source("drain-delay"), flagenv.FromEnv)
	testutil.Equal(t, "dsn source", set.Source("dsn"), flagenv.FromDefault)
}

func TestFlagEnvBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "env duration", env: map[string]string{"SUZAKU_DRAIN_DELAY": "soon"},
			want: `-drain-delay (SUZAKU_DRAIN_DELAY): invalid value "soon": `},
		{name: "env bool", env: map[string]string{"SUZAKU_LOG_JSON": "maybe"},
			want: `-log-json (SUZAKU_LOG_JSON): invalid value "maybe": `},
		{name: "flag duration", args: []string{"-drain-delay", "x"},
			want: `invalid value "x" for flag -drain-delay`},
		{name: "unknown flag", args: []string{"-nope"}, want: "flag provided but not defined: -nope"},
		{name: "stray argument", args: []string{"extra"}, want: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var s settings
			_, err := flagenv.Parse(newFlags(&s), tt.args, "SUZAKU_", env(tt.env))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse() = %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

func TestFlagEnvPrintRedacts(t *testing.T) {
	t.Parallel()
	var s settings
	set, err := flagenv.Parse(newFlags(&s), []string{"-token-secret", "hunter2hunter2"}, "SUZAKU_", env(map[string]string{
		"SUZAKU_DSN": "postgres://app:s3cret@db:5432/chat",
	}))
	testutil.Success(t, err)
	var b strings.Builder
	set.Print(&b)
	out := b.String()
	for _, leak := range []string{"hunter2", "s3cret"} {
		if strings.Contains(out, leak) {
			t.Errorf("Print leaks %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"-token-secret", "[redacted]", "postgres://app:redacted@db:5432/chat", "(env SUZAKU_DSN)", "-addr", "127.0.0.1:4000", "(default)"} {
		if !strings.Contains(out, want) {
			t.Errorf("Print lacks %q:\n%s", want, out)
		}
	}
}

func TestFlagEnvRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, flag, value, want string }{
		{"plain", "addr", "1.2.3.4:5", "1.2.3.4:5"},
		{"url with password", "broker", "redis://:pw@h:6379/0", "redis://:redacted@h:6379/0"},
		{"url without password", "broker", "nats://h:4222", "nats://h:4222"},
		{"key value dsn", "dsn", "host=db password=pw user=u", "host=db password=redacted user=u"},
		{"secret by name", "api-key", "abc", "[redacted]"},
		{"empty secret", "api-key", "", ""},
	}
	for _, tt := range tests {
		testutil.Equal(t, tt.name, flagenv.Redact(tt.flag, tt.value), tt.want)
	}
}
