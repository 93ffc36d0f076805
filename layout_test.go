// Package layout_test enforces the dependency rules of STYLE.md: each
// package imports only from lower layers, the data-path packages stay free
// of net/http and JSON, the management side never links gnet, and every
// package says what it is in a doc comment.
package layout_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/mantrid/mantrid"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Standard   bool
	Imports    []string
	Deps       []string
}

// layers gives each package's layer; a package may import project packages
// of lower layers only. bench is a side package: it may import anything.
var layers = map[string]int{
	"httpparse": 0, "actions": 0,
	"hostmap": 1, "static": 1, "mgmt/api": 1,
	"mgmt/state": 2, "mgmt/store": 2, "loop": 2, "mgmt/client": 2, "mgmt/fleet": 2,
	"mgmt": 3, "mgmt/store/etcdstore": 3, "mgmt/store/etcdstore/etcdtest": 1,
	"cmd/mantrid": 4, "cmd/mantrid-client": 4,
}

// allowedExternal lists the non-stdlib imports each package may use directly.
var allowedExternal = map[string][]string{
	"httpparse":                     {},
	"hostmap":                       {"github.com/cespare/xxhash/v2"},
	"actions":                       {"github.com/bytedance/sonic"},
	"static":                        {},
	"mgmt/state":                    {"github.com/bytedance/sonic"},
	"mgmt/store":                    {},
	"mgmt/store/etcdstore":          {"go.etcd.io/etcd/client/v3", "go.etcd.io/etcd/api/v3/mvccpb", "go.uber.org/zap"},
	"mgmt/store/etcdstore/etcdtest": {"go.etcd.io/etcd/server/v3/embed", "go.etcd.io/etcd/api/v3/etcdserverpb"},
	"mgmt/api":                      {"github.com/bytedance/sonic"},
	"loop":                          {"github.com/panjf2000/gnet/v2"},
	"mgmt":                          {"github.com/bytedance/sonic"},
	"mgmt/client":                   {"github.com/bytedance/sonic"},
	"mgmt/fleet":                    {"go.etcd.io/etcd/client/v3"},
	"cmd/mantrid":                   {"github.com/urfave/cli/v2"},
	"cmd/mantrid-client":            {"github.com/urfave/cli/v2", "github.com/bytedance/sonic"},
}

// forbiddenImports lists packages a package must not import itself (prefix
// match). loop's rule is on its own imports: gnet links net/http through
// zap, and actions' rule codec links sonic.
var forbiddenImports = map[string][]string{
	"loop": {"net/http", "encoding/json", "github.com/bytedance/sonic"},
}

// forbiddenDeps lists packages that must not appear anywhere in a package's
// transitive dependencies (prefix match).
var forbiddenDeps = map[string][]string{
	"httpparse":            {"net/http", "fmt", "encoding/json"},
	"loop":                 {module + "/mgmt"},
	"mgmt":                 {"github.com/panjf2000/gnet", module + "/loop"},
	"mgmt/state":           {"github.com/panjf2000/gnet", module + "/loop"},
	"mgmt/store":           {"github.com/panjf2000/gnet", module + "/loop"},
	"mgmt/store/etcdstore": {"github.com/panjf2000/gnet", module + "/loop"},
	"mgmt/api":             {"github.com/panjf2000/gnet", module + "/loop"},
	"mgmt/client":          {"github.com/panjf2000/gnet", module + "/loop"},
	"mgmt/fleet":           {"github.com/panjf2000/gnet", module + "/loop", module + "/mgmt/store"},
	"cmd/mantrid-client":   {"github.com/panjf2000/gnet", module + "/loop"},
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	require.NoError(t, err, "go list")
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func TestLayout(t *testing.T) {
	for _, p := range listPackages(t) {
		name := rel(p.ImportPath)
		if name == "" || strings.HasPrefix(name, "bench") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			layer, known := layers[name]
			if !known {
				t.Fatalf("package %s has no layer in layout_test.go: add it to the layout of STYLE.md", name)
			}
			if strings.TrimSpace(p.Doc) == "" {
				t.Errorf("package %s has no doc comment", name)
			}
			for _, imp := range p.Imports {
				checkImport(t, name, layer, imp)
				for _, bad := range forbiddenImports[name] {
					if imp == bad || strings.HasPrefix(imp, bad+"/") {
						t.Errorf("%s imports %s, which STYLE.md forbids", name, imp)
					}
				}
			}
			for _, dep := range p.Deps {
				for _, bad := range forbiddenDeps[name] {
					if dep == bad || strings.HasPrefix(dep, bad+"/") {
						t.Errorf("%s depends on %s (through its imports), which STYLE.md forbids", name, dep)
					}
				}
			}
		})
	}
}

func checkImport(t *testing.T, name string, layer int, imp string) {
	t.Helper()
	if strings.HasPrefix(imp, module+"/") {
		other := rel(imp)
		if l, ok := layers[other]; !ok || l >= layer {
			t.Errorf("%s (layer %d) imports %s (layer %d): only lower layers may be imported", name, layer, other, l)
		}
		return
	}
	if !strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
		return // standard library
	}
	for _, ok := range allowedExternal[name] {
		if imp == ok || strings.HasPrefix(imp, ok+"/") {
			return
		}
	}
	t.Errorf("%s imports %s, which is not among its allowed dependencies", name, imp)
}
