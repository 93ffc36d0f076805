package static

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Names of the built-in pages.
const (
	// NoHosts is sent when no rules are configured at all.
	NoHosts = "no-hosts"
	// Test is a page saying that Mantrid works ("Congratulations").
	Test = "test"
	// Timeout is sent when no backend answered in time or a held request
	// timed out.
	Timeout = "timeout"
	// Unknown is sent when no rule matches the request's host. Its
	// built-in status is 503, as the first Mantrid's: on a hosting platform
	// a host that is not configured yet is usually about to be.
	Unknown = "unknown"
)

// fileSuffix ends the name of every page file.
const fileSuffix = ".http"

//go:embed pages/*.http
var builtin embed.FS

// Pages is a set of static responses by name. It is immutable after Load
// and safe for concurrent use.
type Pages struct {
	pages map[string]*Page
}

// Load reads the built-in pages, then every NAME.http file in dir; a file
// overrides the built-in page of the same NAME. dir may be "" or missing:
// the built-ins alone are loaded. Files whose name starts with "." are
// ignored. A file that cannot be read, is larger than MaxPageSize, has a
// NAME that is not valid (see ValidName) or does not hold a valid response
// makes Load fail with an error naming the file and what is wrong.
func Load(dir string) (*Pages, error) {
	return read(dir, func(string, error) bool { return false })
}

// Reload reads the pages again for a running server, from the built-ins
// and dir as Load does, except that a page file that cannot be used does
// not fail the whole: the page prev has under that NAME, if any, is kept,
// and the problem is returned with the others, one error per file. A file
// that is gone takes its page away (the built-in of that NAME comes back).
// When dir cannot be listed at all, Reload returns prev and that error.
func Reload(dir string, prev *Pages) (*Pages, []error) {
	var problems []error
	var kept map[string]*Page
	ps, err := read(dir, func(name string, err error) bool {
		problems = append(problems, err)
		if p, ok := prev.Get(name); ok {
			if kept == nil {
				kept = map[string]*Page{}
			}
			kept[name] = p
		}
		return true
	})
	if err != nil {
		return prev, append(problems, err)
	}
	for name, p := range kept {
		ps.pages[name] = p
	}
	return ps, problems
}

// read loads the built-in pages, then the files of dir. A file that cannot
// be used goes to bad with its NAME: read stops with that error when bad
// returns false, and skips the file when it returns true.
func read(dir string, bad func(name string, err error) bool) (*Pages, error) {
	ps := &Pages{pages: make(map[string]*Page)}
	entries, err := builtin.ReadDir("pages")
	if err != nil {
		return nil, fmt.Errorf("static: built-in pages: %w", err)
	}
	for _, e := range entries {
		if err := ps.add(builtin, "pages/"+e.Name(), "built-in "+e.Name()); err != nil {
			return nil, err
		}
	}
	if dir == "" {
		return ps, nil
	}
	entries, err = os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return ps, nil
	}
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	files := os.DirFS(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), fileSuffix) || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		err := ps.add(files, e.Name(), filepath.Join(dir, e.Name()))
		if err != nil && !bad(strings.TrimSuffix(e.Name(), fileSuffix), err) {
			return nil, err
		}
	}
	return ps, nil
}

// add parses the page file path of fsys and stores it under its NAME;
// errors name the file as display.
func (ps *Pages) add(fsys fs.FS, path, display string) error {
	name := strings.TrimSuffix(filepath.Base(path), fileSuffix)
	data, err := readPage(fsys, path)
	if err == nil && !ValidName(name) {
		err = errors.New("invalid page name: use ASCII letters, digits, '.', '_' and '-', no '..'")
	}
	var page *Page
	if err == nil {
		page, err = parse(data)
	}
	if err != nil {
		return fmt.Errorf("static: %s: %w", display, err)
	}
	ps.pages[name] = page
	return nil
}

// readPage reads a regular file of at most MaxPageSize bytes.
func readPage(fsys fs.FS, path string) ([]byte, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxPageSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxPageSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxPageSize)
	}
	return data, nil
}

// Len returns the number of pages.
func (ps *Pages) Len() int { return len(ps.pages) }

// Get returns the page called name.
func (ps *Pages) Get(name string) (*Page, bool) {
	p, ok := ps.pages[name]
	return p, ok
}

// ValidName reports whether name can name a page: one or more ASCII
// letters, digits, '.', '_' or '-', not starting with '.' and without "..",
// so that NAME.http never leaves the static directory.
func ValidName(name string) bool {
	if name == "" || name[0] == '.' || strings.Contains(name, "..") {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
