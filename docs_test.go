package suzaku_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsSelfContained keeps the repository's documentation whole: no
// file may send a reader to a document that is not in the repository
// (the design notes the project started from), and the pages that replace
// them exist.
func TestDocsSelfContained(t *testing.T) {
	t.Parallel()
	for _, page := range []string{"docs/protocol.md", "examples/conformance/README.md"} {
		if _, err := os.Stat(page); err != nil {
			t.Errorf("%s: %v", page, err)
		}
	}
	// Spelled in pieces so that this file does not match itself.
	outside := []string{"PROTOCOL" + ".md", "CONFORMANCE" + ".md", "STYLE" + ".md", "RESEARCH" + ".md", "shared" + "/"}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "dist", "artifacts", "data":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".js", ".mjs", ".ts", ".sh", ".tmpl", ".json", ".html", ".yml", ".yaml", "":
		default:
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, name := range outside {
			if strings.Contains(string(b), name) {
				t.Errorf("%s refers to %s, which is not in the repository", path, name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
