package state

import (
	"os"
	"os/exec"
	"testing"
)

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
