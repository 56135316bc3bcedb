package static

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"
)

// fileInfo is what serving a file needs beyond its bytes, computed on the
// first request for it and kept while its size and modification time stay
// the same (always, for an embed.FS).
type fileInfo struct {
	size      int64
	modTime   time.Time
	etag      string // strong: a hash of the content
	ctype     string
	immutable bool
	variants  []variant // precompressed siblings, best first
}

// variant is a precompressed sibling of a file: "app.js.br" of "app.js".
type variant struct {
	encoding string // Content-Encoding: "br" or "gzip"
	suffix   string // ".br" or ".gz"
	etag     string // of the compressed bytes: another representation
}

// encodings are the precompressed siblings looked for, in order of
// preference when the client accepts both equally.
var encodings = [...]struct{ encoding, suffix string }{
	{"br", ".br"},
	{"gzip", ".gz"},
}

// serveFile serves the regular file name, or its precompressed variant,
// and reports whether it did; it reports false, with no error and nothing
// written, if there is no such file. index forces CacheRevalidate.
func (s *SPA) serveFile(w http.ResponseWriter, r *http.Request, name string, index bool) (bool, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() {
		return false, nil // a directory: never listed
	}
	info, err := s.info(name, st)
	if err != nil {
		return false, err
	}

	h := w.Header()
	if info.immutable && !index {
		h.Set("Cache-Control", CacheImmutable)
	} else {
		h.Set("Cache-Control", CacheRevalidate)
	}
	h.Set("Content-Type", info.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if len(info.variants) > 0 {
		h.Add("Vary", "Accept-Encoding")
		// A range applies to the bytes sent; only the identity
		// encoding's ranges are served, so a Range request gets it.
		if r.Header.Get("Range") == "" {
			if v := negotiate(r.Header.Get("Accept-Encoding"), info.variants); v != nil {
				served, err := s.serveVariant(w, r, name, st.ModTime(), v)
				if served || err != nil {
					return served, err
				}
				// The variant went away: send the original.
			}
		}
	}
	content, err := readSeeker(f)
	if err != nil {
		return false, err
	}
	h.Set("Etag", info.etag)
	http.ServeContent(w, r, name, st.ModTime(), content)
	return true, nil
}

func (s *SPA) serveVariant(w http.ResponseWriter, r *http.Request, name string, modTime time.Time, v *variant) (bool, error) {
	f, err := s.fsys.Open(name + v.suffix)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, err
	}
	content, err := readSeeker(f)
	if err != nil {
		return false, err
	}
	h := w.Header()
	h.Set("Content-Encoding", v.encoding)
	h.Set("Etag", v.etag)
	// ServeContent leaves Content-Length out when Content-Encoding is set
	// (it expects on-the-fly compression); these bytes are the body.
	h.Set("Content-Length", strconv.FormatInt(st.Size(), 10))
	http.ServeContent(w, r, name, modTime, content)
	return true, nil
}

// info returns the cached fileInfo of name, computing it if the file is
// new or changed.
func (s *SPA) info(name string, st fs.FileInfo) (*fileInfo, error) {
	s.mu.Lock()
	info := s.files[name]
	s.mu.Unlock()
	if info != nil && info.size == st.Size() && info.modTime.Equal(st.ModTime()) {
		return info, nil
	}
	// Computed without the lock: two requests may both compute it, and
	// the last one stored wins; both are correct.
	etag, err := s.etag(name)
	if err != nil {
		return nil, err
	}
	info = &fileInfo{
		size:      st.Size(),
		modTime:   st.ModTime(),
		etag:      etag,
		ctype:     contentType(name),
		immutable: s.immutable(name),
	}
	for _, e := range encodings {
		vst, err := fs.Stat(s.fsys, name+e.suffix)
		if err != nil || !vst.Mode().IsRegular() {
			continue
		}
		vetag, err := s.etag(name + e.suffix)
		if err != nil {
			return nil, err
		}
		info.variants = append(info.variants, variant{encoding: e.encoding, suffix: e.suffix, etag: vetag})
	}
	s.mu.Lock()
	s.files[name] = info
	s.mu.Unlock()
	return info, nil
}

// etag hashes the file's content into a strong ETag: 128 bits of SHA-256,
// base64url.
func (s *SPA) etag(name string) (string, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return "", err
	}
	sum := hash.Sum(nil)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`, nil
}

// readSeeker returns f as an io.ReadSeeker for http.ServeContent, reading
// it into memory if the fs.FS's files cannot seek (embed.FS, os.DirFS and
// fstest.MapFS files can).
func readSeeker(f fs.File) (io.ReadSeeker, error) {
	if rs, ok := f.(io.ReadSeeker); ok {
		return rs, nil
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(b), nil
}
