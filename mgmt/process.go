package mgmt

import (
	"bufio"
	"bytes"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/mantrid/mantrid/mgmt/api"
)

// processPath is the path of the process-health answer; like the other
// paths it also answers without its trailing slash and matches
// case-insensitively.
const processPath = "/process/"

// Process is the answer to GET /process/: the health of the Mantrid
// process, for soak tests and monitoring. A field the system cannot tell
// (no /proc) is -1.
type Process struct {
	// Goroutines is runtime.NumGoroutine().
	Goroutines int64 `json:"goroutines"`
	// OpenFDs counts the entries of /proc/self/fd, without the one used to
	// read that folder.
	OpenFDs int64 `json:"open_fds"`
	// RSSBytes is VmRSS of /proc/self/status, in bytes.
	RSSBytes int64 `json:"rss_bytes"`
	// Threads is Threads of /proc/self/status: OS threads.
	Threads int64 `json:"threads"`
	// RefusedRules is how many rules of the first Mantrid's state file
	// were left out when the store was created from it (ServerOptions.
	// RefusedRules); 0 when none or not known.
	RefusedRules int64 `json:"refused_rules"`
	// Etcd is the link to etcd of a node of a fleet (ServerOptions.Etcd);
	// absent with the local store.
	Etcd *EtcdStatus `json:"etcd,omitempty"`
}

// EtcdStatus is the state of a fleet node's link to etcd.
type EtcdStatus struct {
	// Connected reports whether etcd answers; when false, rules are served
	// as last seen and writes get 503 store_unavailable.
	Connected bool `json:"connected"`
	// Since is when Connected last changed (RFC 3339).
	Since string `json:"since"`
	// Revision is the etcd revision this node's rules reflect.
	Revision int64 `json:"revision"`
}

// isProcessPath reports whether an escaped request path names /process/.
func isProcessPath(escaped string) bool {
	escaped = strings.TrimSuffix(escaped, "/")
	return strings.EqualFold(escaped, strings.TrimSuffix(processPath, "/"))
}

// process answers /process/: GET and HEAD get the Process of this
// process; other methods 405.
func (s *Server) process(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		const allow = "GET, HEAD"
		w.Header().Set("Allow", allow)
		return writeError(w, &api.Error{Code: api.CodeMethodNotAllowed, Detail: "this path allows " + allow})
	}
	p := readProcess()
	if s.opts.RefusedRules != nil {
		p.RefusedRules = s.opts.RefusedRules()
	}
	if s.opts.Etcd != nil {
		p.Etcd = s.opts.Etcd()
	}
	return writeJSON(w, p)
}

// readProcess samples this process. It reads two small files under /proc
// and never fails: what it cannot read is -1.
func readProcess() Process {
	p := Process{Goroutines: int64(runtime.NumGoroutine()), OpenFDs: countFDs(), RSSBytes: -1, Threads: -1}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return p
	}
	if kb := statusField(b, "VmRSS:"); kb >= 0 {
		p.RSSBytes = kb << 10
	}
	p.Threads = statusField(b, "Threads:")
	return p
}

// countFDs counts this process's open file descriptors, or returns -1.
func countFDs() int64 {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return -1
	}
	own := strconv.FormatUint(uint64(d.Fd()), 10)
	n := int64(0)
	for _, name := range names {
		if name != own {
			n++
		}
	}
	return n
}

// statusField returns the first number of the /proc/self/status line that
// starts with name ("VmRSS:   1234 kB" → 1234), or -1.
func statusField(status []byte, name string) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(name))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) == 0 {
			return -1
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || v < 0 {
			return -1
		}
		return v
	}
	return -1
}
