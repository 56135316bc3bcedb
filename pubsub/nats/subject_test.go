package nats

import "testing"

func TestNATSSubjectToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		node, want string
	}{
		{"a", "a"},
		{"web-1@host:4000", "web-1@host:4000"},
		{"web-1@10.0.0.2", "web-1@10%2E0%2E0%2E2"},
		{"a b", "a%20b"},
		{"*", "%2A"},
		{">", "%3E"},
		{"100%", "100%25"},
		{"é", "%C3%A9"},
		{"a\tb\n", "a%09b%0A"},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got := subjectToken(tt.node)
		if got != tt.want {
			t.Errorf("subjectToken(%q) = %q, want %q", tt.node, got, tt.want)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("subjectToken(%q) = subjectToken(%q) = %q", tt.node, other, got)
		}
		seen[got] = tt.node
	}
}

func FuzzNATSSubjectToken(f *testing.F) {
	f.Add("web-1@10.0.0.2")
	f.Add("a%2Eb")
	f.Fuzz(func(t *testing.T, node string) {
		tok := subjectToken(node)
		for i := range len(tok) {
			if c := tok[i]; !tokenSafe(c) && c != '%' {
				t.Fatalf("subjectToken(%q) = %q has %q", node, tok, c)
			}
		}
		if got := unescape(tok); got != node {
			t.Fatalf("subjectToken(%q) = %q, which unescapes to %q: not one-to-one", node, tok, got)
		}
	})
}

// unescape inverts subjectToken, showing it is one-to-one.
func unescape(tok string) string {
	var b []byte
	for i := 0; i < len(tok); i++ {
		if tok[i] == '%' && i+2 < len(tok) {
			b = append(b, unhex(tok[i+1])<<4|unhex(tok[i+2]))
			i += 2
			continue
		}
		b = append(b, tok[i])
	}
	return string(b)
}

func unhex(c byte) byte {
	if c >= 'A' {
		return c - 'A' + 10
	}
	return c - '0'
}

func TestNATSCheckPrefix(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"suzaku", "app.v1", "a-b_c.d@e"} {
		if err := checkPrefix(p); err != nil {
			t.Errorf("checkPrefix(%q) = %v, want nil", p, err)
		}
	}
	for _, p := range []string{"", ".", "a.", ".a", "a..b", "*", "a.*", ">", "a.>", "a*b", "a b", "a\tb"} {
		if err := checkPrefix(p); err == nil {
			t.Errorf("checkPrefix(%q) = nil, want an error", p)
		}
	}
}
