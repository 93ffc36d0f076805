package mgmt

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/mantrid/mantrid/actions"
	"github.com/mantrid/mantrid/hostmap"
	"github.com/mantrid/mantrid/mgmt/store"
	"github.com/stretchr/testify/require"
)

func mustRule(t testing.TB, js string) *actions.Rule {
	t.Helper()
	r, err := actions.ParseRule([]byte(js))
	require.NoError(t, err, "rule %s", js)
	return r
}

// testRules is a rule table with the memory store that feeds it, as the
// daemon has a table with its store.
type testRules struct {
	table *hostmap.Table
	store *store.Memory
}

func newRules(loops int, onChange func(string)) *testRules {
	t := hostmap.New(loops)
	return &testRules{table: t, store: store.NewMemory(t, onChange)}
}

// rules returns the table's rules as key → canonical JSON.
func (r *testRules) rules() map[string]string {
	out := map[string]string{}
	r.table.Range(func(key string, h hostmap.Hit) bool {
		out[key] = string(h.Unpack().AppendJSON(nil))
		return true
	})
	return out
}

// replace replaces the table's rules with key → rule JSON.
func (r *testRules) replace(t testing.TB, rules map[string]string) {
	t.Helper()
	b := r.table.NewBuilder(len(rules))
	for key, js := range rules {
		b.Add(key, mustRule(t, js))
	}
	_, err := r.store.Replace(context.Background(), b)
	require.NoError(t, err)
}

// get returns key's rule as canonical JSON, or "".
func (r *testRules) get(key string) string {
	h, ok := r.table.Get(key)
	if !ok {
		return ""
	}
	return string(h.Unpack().AppendJSON(nil))
}

// changes records onChange calls.
type changes struct {
	mu   sync.Mutex
	keys []string
}

func (c *changes) record(key string) {
	c.mu.Lock()
	c.keys = append(c.keys, key)
	c.mu.Unlock()
}

func (c *changes) get() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.keys...)
}

// bulkBody returns a bulk PUT body of n rules of every action, about 80
// bytes each, for hosts host-0.example.com … host-(n-1).example.com.
func bulkBody(n int) string {
	var b strings.Builder
	b.Grow(n * 90)
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"host-%d.example.com":`, i)
		b.WriteString(bulkRule(i))
	}
	b.WriteByte('}')
	return b.String()
}

// bulkRule returns the rule bulkBody gives host i.
func bulkRule(i int) string {
	switch i % 5 {
	case 0:
		return fmt.Sprintf(`["proxy",{"backends":[["10.0.%d.%d",8080],["10.1.%d.%d",8080]]},true]`, i>>8&255, i&255, i>>8&255, i&255)
	case 1:
		return `["redirect",{"redirect_to":"https://www.example.com"},false]`
	case 2:
		return `["empty",{"code":403},false]`
	case 3:
		return `["spin",{"timeout":30},true]`
	}
	return `["static",{"type":"test"},false]`
}

// makeReadOnly makes dir refuse new files until the test ends: by its mode
// for a normal user, by the immutable attribute (chattr +i) for root, whom
// modes do not stop. It skips the test when neither works.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Skipf("cannot make %s read-only: %v", dir, err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return
	}
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root and chattr +i failed (%v: %s): cannot make a folder read-only", err, out)
	}
	t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
}
