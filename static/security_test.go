package static_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
	"github.com/suzaku-go/suzaku/static"
)

// TestSecuritySymlinkEscape plants a link to a directory outside the SPA
// folder: os.DirFS serves what it points at, Dir does not, and a link
// that stays inside still works.
func TestSecuritySymlinkEscape(t *testing.T) {
	t.Parallel()
	outside := t.TempDir()
	testutil.Success(t, os.WriteFile(filepath.Join(outside, "passwd"), []byte("root:x:0:0"), 0o644))
	dir := t.TempDir()
	testutil.Success(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html>"), 0o644))
	testutil.Success(t, os.WriteFile(filepath.Join(dir, "app.js"), []byte("1"), 0o644))
	testutil.Success(t, os.Symlink(outside, filepath.Join(dir, "etclink")))
	testutil.Success(t, os.Symlink("app.js", filepath.Join(dir, "alias.js")))

	// get returns the status, or "leak" when the outside file was sent.
	get := func(fsys func() (http.Handler, error), path string) string {
		h, err := fsys()
		testutil.Success(t, err)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if strings.Contains(rec.Body.String(), "root:x") {
			return "leak"
		}
		return http.StatusText(rec.Code)
	}
	dirFS := func() (http.Handler, error) { return static.New(static.Config{FS: os.DirFS(dir)}) }
	rootFS := func() (http.Handler, error) {
		fsys, err := static.Dir(dir)
		if err != nil {
			return nil, err
		}
		return static.New(static.Config{FS: fsys})
	}
	// The hole this closes: os.DirFS follows the link.
	testutil.Equal(t, "os.DirFS /etclink/passwd", get(dirFS, "/etclink/passwd"), "leak")
	// Not a file of the app: the client route fallback (index.html).
	testutil.Equal(t, "Dir /etclink/passwd", get(rootFS, "/etclink/passwd"), "OK")
	testutil.Equal(t, "Dir /etclink/passwd.txt", get(rootFS, "/etclink/passwd.txt"), "Not Found")
	testutil.Equal(t, "Dir /alias.js (inside)", get(rootFS, "/alias.js"), "OK")
}

// TestSecurityHeaders sets the default security headers, with the
// request's host as the WebSocket source, and lets an app replace them.
func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	fsys := dist()
	h, err := static.New(static.Config{FS: fsys})
	testutil.Success(t, err)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "chat.example.com:4000"
	h.ServeHTTP(rec, req)
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"frame-ancestors 'none'", "connect-src 'self' ws://chat.example.com:4000 wss://chat.example.com:4000", "script-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy = %q, want %q in it", csp, want)
		}
	}
	testutil.Equal(t, "Referrer-Policy", rec.Header().Get("Referrer-Policy"), "no-referrer")
	testutil.Equal(t, "X-Content-Type-Options", rec.Header().Get("X-Content-Type-Options"), "nosniff")

	// A forged Host cannot inject a directive.
	req.Host = "evil; script-src *"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if csp := rec.Header().Get("Content-Security-Policy"); strings.Contains(csp, "evil") {
		t.Errorf("Content-Security-Policy = %q carries the forged host", csp)
	}

	// The app's own headers replace the defaults.
	custom := static.DefaultSecurityHeaders()
	custom.Set("Content-Security-Policy", "default-src 'none'")
	h, err = static.New(static.Config{FS: fsys, SecurityHeaders: custom})
	testutil.Success(t, err)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	testutil.Equal(t, "custom CSP", rec.Header().Get("Content-Security-Policy"), "default-src 'none'")
}
