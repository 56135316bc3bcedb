package static

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Dir returns the files under dir as an fs.FS for [Config].FS, opened
// with os.OpenRoot: a symbolic link that points outside dir (a planted
// "/etclink" → /etc) cannot be followed, where os.DirFS follows it. Links
// that stay inside dir work. A file that cannot be opened, an escaping
// link included, is reported as fs.ErrNotExist, so that the SPA answers
// 404 without telling why. The directory stays open for the life of the
// program.
func Dir(dir string) (fs.FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	return rootFS{root.FS()}, nil
}

// rootFS hides why a file could not be opened.
type rootFS struct{ fsys fs.FS }

func (r rootFS) Open(name string) (fs.File, error) {
	f, err := r.fsys.Open(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f, err
}
