package wire_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/wire"
)

// semverRE is the regular expression semver.org gives for SemVer 2.0.
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// wantVersion is Negotiate's specification written another way: the
// version of the serializer for vsn, or "" for an error.
func wantVersion(vsn string) string {
	if vsn == "" {
		return "1.0.0"
	}
	m := semverRE.FindStringSubmatch(vsn)
	if m == nil || m[2] != "0" || (m[3] == "0" && m[4] != "") {
		return ""
	}
	switch m[1] {
	case "1":
		return "1.0.0"
	case "2":
		return "2.0.0"
	}
	return ""
}

func TestNegotiate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		vsn  string
		want string // Version() of the serializer, "" for an error
	}{
		{name: "absent", vsn: "", want: "1.0.0"},
		{name: "1.0.0", vsn: "1.0.0", want: "1.0.0"},
		{name: "1.0 patch", vsn: "1.0.7", want: "1.0.0"},
		{name: "1.0.0 with build", vsn: "1.0.0+build.5", want: "1.0.0"},
		{name: "2.0.0 (phoenix.js)", vsn: "2.0.0", want: "2.0.0"},
		{name: "2.0 patch", vsn: "2.0.12", want: "2.0.0"},
		{name: "huge patch", vsn: "2.0.99999999999999999999999999", want: "2.0.0"},
		{name: "patch pre-release", vsn: "2.0.1-rc.1", want: "2.0.0"},
		{name: "2.0.0 pre-release", vsn: "2.0.0-rc.1", want: ""},
		{name: "2.1.0", vsn: "2.1.0", want: ""},
		{name: "1.1.0", vsn: "1.1.0", want: ""},
		{name: "3.0.0", vsn: "3.0.0", want: ""},
		{name: "0.0.1", vsn: "0.0.1", want: ""},
		{name: "123.1.1 (Phoenix log line)", vsn: "123.1.1", want: ""},
		{name: "two parts", vsn: "2.0", want: ""},
		{name: "one part", vsn: "2", want: ""},
		{name: "four parts", vsn: "2.0.0.0", want: ""},
		{name: "v prefix", vsn: "v2.0.0", want: ""},
		{name: "leading zero", vsn: "02.0.0", want: ""},
		{name: "leading zero patch", vsn: "2.0.00", want: ""},
		{name: "leading zero pre-release", vsn: "2.0.1-01", want: ""},
		{name: "empty pre-release", vsn: "2.0.1-", want: ""},
		{name: "empty build", vsn: "2.0.0+", want: ""},
		{name: "bad build character", vsn: "2.0.0+a_b", want: ""},
		{name: "space", vsn: " 2.0.0", want: ""},
		{name: "not a version", vsn: "abc", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testutil.Equal(t, "wantVersion("+tc.vsn+")", wantVersion(tc.vsn), tc.want)
			s, err := wire.Negotiate(tc.vsn)
			if tc.want == "" {
				testutil.ErrorIs(t, err, wire.ErrUnsupportedVersion)
				if !strings.Contains(err.Error(), `"`+tc.vsn+`"`) {
					t.Fatalf("Negotiate(%q) error %q does not name the vsn", tc.vsn, err)
				}
				testutil.Equal(t, "serializer", s, nil)
				return
			}
			testutil.Success(t, err)
			testutil.Equal(t, "Negotiate("+tc.vsn+").Version()", s.Version(), tc.want)
		})
	}
}

func TestNegotiateError(t *testing.T) {
	t.Parallel()
	_, err := wire.Negotiate("123.1.1")
	testutil.Equal(t, "Negotiate(123.1.1)", err.Error(),
		`wire: negotiate: unsupported protocol version "123.1.1" (want ~> 1.0.0 or ~> 2.0.0)`)
	_, err = wire.Negotiate("two")
	testutil.Equal(t, "Negotiate(two)", err.Error(),
		`wire: negotiate: unsupported protocol version "two" (not a semantic version)`)
}
