package static

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
)

// Cache-Control values.
const (
	// CacheImmutable is sent with files whose name changes with their
	// content: a year, never revalidated.
	CacheImmutable = "public, max-age=31536000, immutable"
	// CacheRevalidate is sent with every other file, index.html included:
	// the browser may store it but asks each time, with If-None-Match,
	// and usually gets a 304.
	CacheRevalidate = "no-cache"
)

// Config configures an [SPA]. FS is required; the zero value of every
// other field is a useful default.
type Config struct {
	// FS holds the built app: index.html and its assets, such as Vite's
	// dist directory embedded with //go:embed (use fs.Sub to strip the
	// directory) or os.DirFS("web/dist") in development. Files whose
	// path has a segment starting with "." (other than ".well-known") are
	// never served.
	FS fs.FS

	// Index is the path in FS of the page served for "/" and for client
	// routes. Empty means "index.html". New fails if it does not exist.
	Index string

	// APIPrefixes are URL path prefixes that belong to the API, such as
	// "/api/": a request under one that reaches the SPA (no API route
	// matched it) is answered 404 with a small application/problem+json
	// body, never with index.html, so that API clients get an error they
	// can parse rather than a page. Each must start with "/"; a prefix
	// ending in "/" also matches the path without it ("/api"). Nil means
	// {"/api/"}; an empty, non-nil slice means none.
	APIPrefixes []string

	// Immutable reports whether the file at a path in FS has a name that
	// changes with its content, so that it may be cached for a year with
	// [CacheImmutable]. Nil means [IsHashed]. A false positive leaves
	// browsers with a stale file for a year; a false negative only costs a
	// revalidation, so a custom rule should be conservative.
	Immutable func(name string) bool

	// SecurityHeaders are set on every response: the page's
	// Content-Security-Policy (the word CONNECT in it becomes
	// "ws://HOST wss://HOST" for the request's host, so that the app may
	// open its own WebSocket), Referrer-Policy and the like. Nil means
	// [DefaultSecurityHeaders]; an empty, non-nil header sets none. To
	// change one, start from DefaultSecurityHeaders() and Set it.
	SecurityHeaders http.Header

	// Logger receives errors reading FS (other than missing files), at
	// Error level. Nil discards them.
	Logger *slog.Logger
}

// SPA is an http.Handler that serves a single-page app from an fs.FS,
// built by [New]. See the package documentation for the rules.
type SPA struct {
	fsys      fs.FS
	index     string
	prefixes  []string
	immutable func(string) bool
	security  http.Header
	logger    *slog.Logger

	mu    sync.Mutex
	files map[string]*fileInfo // by path in fsys; only files that exist
}

var _ http.Handler = (*SPA)(nil)

// New validates cfg and returns the handler. It fails if FS is nil, if
// Index is not a regular file in FS, or if a prefix does not start with
// "/". It reads nothing else: file metadata and ETags are computed on
// first use and kept.
func New(cfg Config) (*SPA, error) {
	if cfg.FS == nil {
		return nil, errors.New("static: Config.FS is nil")
	}
	s := &SPA{
		fsys:      cfg.FS,
		index:     cfg.Index,
		prefixes:  cfg.APIPrefixes,
		immutable: cfg.Immutable,
		security:  cfg.SecurityHeaders,
		logger:    cfg.Logger,
		files:     make(map[string]*fileInfo),
	}
	if s.index == "" {
		s.index = "index.html"
	}
	if s.prefixes == nil {
		s.prefixes = []string{"/api/"}
	}
	if s.immutable == nil {
		s.immutable = IsHashed
	}
	if s.security == nil {
		s.security = DefaultSecurityHeaders()
	}
	for _, p := range s.prefixes {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("static: API prefix %q does not start with /", p)
		}
	}
	if !fs.ValidPath(s.index) || s.index == "." {
		return nil, fmt.Errorf("static: index %q is not a valid path in Config.FS", s.index)
	}
	fi, err := fs.Stat(s.fsys, s.index)
	if err != nil {
		return nil, fmt.Errorf("static: index %q: %w", s.index, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("static: index %q is not a regular file", s.index)
	}
	return s, nil
}

// ServeHTTP serves GET and HEAD requests; other methods get 405.
func (s *SPA) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.setSecurityHeaders(w, r)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	upath := r.URL.Path
	if !strings.HasPrefix(upath, "/") {
		upath = "/" + upath
	}
	// path.Clean resolves "." and ".." segments of a rooted path without
	// ever going above the root, so the name stays inside FS.
	clean := path.Clean(upath)
	if s.isAPI(clean) {
		notFoundAPI(w)
		return
	}
	name := strings.TrimPrefix(clean, "/")
	if name == "" {
		s.serveIndex(w, r)
		return
	}
	if !servable(name) {
		http.NotFound(w, r)
		return
	}
	switch served, err := s.serveFile(w, r, name, false); {
	case err != nil:
		s.fail(w, r, name, err)
		return
	case served:
		return
	}
	if isAsset(name) || s.inDirectory(name) {
		http.NotFound(w, r)
		return
	}
	s.serveIndex(w, r)
}

func (s *SPA) serveIndex(w http.ResponseWriter, r *http.Request) {
	switch served, err := s.serveFile(w, r, s.index, true); {
	case err != nil:
		s.fail(w, r, s.index, err)
	case !served:
		s.fail(w, r, s.index, fs.ErrNotExist) // removed since New
	}
}

func (s *SPA) fail(w http.ResponseWriter, r *http.Request, name string, err error) {
	if s.logger != nil {
		s.logger.LogAttrs(r.Context(), slog.LevelError, "static: serve file",
			slog.String("file", name), slog.Any("error", err))
	}
	http.Error(w, "500 internal server error", http.StatusInternalServerError)
}

// isAPI reports whether the cleaned path p is under an API prefix.
func (s *SPA) isAPI(p string) bool {
	for _, prefix := range s.prefixes {
		if strings.HasPrefix(p, prefix) || strings.HasSuffix(prefix, "/") && p == prefix[:len(prefix)-1] {
			return true
		}
	}
	return false
}

// notFoundAPI answers a request under an API prefix that no API route
// took, in the format of api.Problem without importing the api package.
func notFoundAPI(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", CacheRevalidate)
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, `{"title":"Not Found","status":404,"code":"not_found"}`+"\n")
}

// servable reports whether a cleaned, relative path may be served: a
// valid fs.FS path with no hidden segment (".env", ".git/…"), backslash or
// NUL.
func servable(name string) bool {
	if !fs.ValidPath(name) || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	for seg := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(seg, ".") && seg != ".well-known" {
			return false
		}
	}
	return true
}

// isAsset reports whether a missing path names a file rather than a
// client route: its last segment has an extension ("app.js",
// "logo.svg"). A client route with a dot in its last segment
// ("/users/jane.doe") therefore gets a 404, not index.html.
func isAsset(name string) bool {
	return strings.Contains(path.Base(name), ".")
}

// inDirectory reports whether name's first segment is a directory in FS
// ("assets/…"): a missing file there is a broken asset link, not a client
// route.
func (s *SPA) inDirectory(name string) bool {
	first, _, nested := strings.Cut(name, "/")
	if !nested {
		// "/assets" itself: a directory is never listed or served.
		first = name
	}
	fi, err := fs.Stat(s.fsys, first)
	return err == nil && fi.IsDir()
}
