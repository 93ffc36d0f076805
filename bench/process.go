package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// process is a program the harness started; it is stopped by its PID only.
type process struct {
	name    string
	cmd     *exec.Cmd
	log     *os.File
	done    chan struct{}
	started time.Time // just before the exec
}

// startProcess starts argv with its stdout and stderr in logPath. The
// command line is recorded in cmds for the report, once however often it
// is started.
func startProcess(name, logPath string, argv []string, cmds *[]string) (*process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	started := time.Now()
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	if line := strings.Join(argv, " "); !slices.Contains(*cmds, line) {
		*cmds = append(*cmds, line)
	}
	p := &process{name: name, cmd: cmd, log: f, done: make(chan struct{}), started: started}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process's PID, waits up to 15 s, then SIGKILL.
func (p *process) stop() { p.stopWithin(15 * time.Second) }

// stopWithin sends SIGTERM to the process's PID and waits up to d for it
// to exit, then sends SIGKILL. It returns how long the process took to
// exit after SIGTERM and whether it did so by itself (false: killed, or
// it had already exited).
func (p *process) stopWithin(d time.Duration) (time.Duration, bool) {
	if p == nil || p.cmd.Process == nil {
		return 0, false
	}
	defer p.log.Close()
	if p.exited() {
		return 0, false
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.done:
		return time.Since(start), true
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.done
		return time.Since(start), false
	}
}

// kill sends SIGKILL to the process's PID and waits until it has ended.
func (p *process) kill() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.log.Close()
}

// exitStatus describes how the process ended, for error messages.
func (p *process) exitStatus() string {
	if !p.exited() || p.cmd.ProcessState == nil {
		return "running"
	}
	return p.cmd.ProcessState.String()
}

// pids returns the process's PID and those of its descendants (nginx
// workers), found through the ppid field of /proc/*/stat.
func (p *process) pids() []int {
	root := p.cmd.Process.Pid
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, err := statFields(pid); err == nil {
			pp, _ := strconv.Atoi(f[1])
			parent[pid] = pp
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		for pid, pp := range parent {
			if pp == out[i] {
				out = append(out, pid)
			}
		}
	}
	return out
}

// statFields returns the fields of /proc/PID/stat after the command name:
// [0] is state, [1] ppid, [11] utime, [12] stime (clock ticks).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, errors.New("bad stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return nil, errors.New("short stat")
	}
	return f, nil
}

// clockTick is USER_HZ, the unit of utime and stime; 100 on Linux.
const clockTick = 100

// cpuTicks returns utime+stime summed over the process and its descendants.
func (p *process) cpuTicks() int64 {
	var sum int64
	for _, pid := range p.pids() {
		f, err := statFields(pid)
		if err != nil {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		sum += u + s
	}
	return sum
}

// cpuTicksAll is cpuTicks plus the CPU time of the descendants the
// process has already reaped (cutime and cstime of its own stat), so that
// nginx workers that ended during a reload are counted.
func (p *process) cpuTicksAll() int64 {
	sum := p.cpuTicks()
	if f, err := statFields(p.cmd.Process.Pid); err == nil && len(f) > 14 {
		cu, _ := strconv.ParseInt(f[13], 10, 64)
		cs, _ := strconv.ParseInt(f[14], 10, 64)
		sum += cu + cs
	}
	return sum
}

// rssKB returns VmRSS in KiB summed over the process and its descendants.
// Pages they share (an nginx master's and its worker's copy of a map)
// count once per process: see pssKB.
func (p *process) rssKB() int64 {
	var sum int64
	for _, pid := range p.pids() {
		sum += statusKB(pid, "VmRSS:")
	}
	return sum
}

// pssKB returns the proportional set size in KiB (Pss of
// /proc/PID/smaps_rollup, where shared pages are split between their
// users) summed over the process and its descendants; 0 when unreadable.
func (p *process) pssKB() int64 {
	var sum int64
	for _, pid := range p.pids() {
		sum += fileKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:")
	}
	return sum
}

// ioCounts are the write counters of /proc/PID/io, in bytes.
type ioCounts struct {
	writeBytes int64 // write_bytes: sent towards the storage layer
	wchar      int64 // wchar: passed to write(2) and similar calls
}

// io returns the write counters summed over the process and its
// descendants. Reading another process's io file needs the right to
// trace it (root, or the same user); unreadable counters are 0.
func (p *process) io() ioCounts {
	var c ioCounts
	for _, pid := range p.pids() {
		f, err := os.Open(fmt.Sprintf("/proc/%d/io", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "write_bytes":
				c.writeBytes += n
			case "wchar":
				c.wchar += n
			}
		}
		f.Close()
	}
	return c
}

// peakRSS returns VmHWM in KiB summed over the process and its descendants.
func (p *process) peakRSS() int64 {
	var sum int64
	for _, pid := range p.pids() {
		sum += statusKB(pid, "VmHWM:")
	}
	return sum
}

// resetPeakRSS asks the kernel to reset VmHWM (clear_refs 5); it needs
// the right to write the file and is skipped silently otherwise.
func (p *process) resetPeakRSS() {
	for _, pid := range p.pids() {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	}
}

// statusKB returns the kB value of one /proc/PID/status line, or 0.
func statusKB(pid int, key string) int64 {
	return fileKB(fmt.Sprintf("/proc/%d/status", pid), key)
}

// fileKB returns the kB value of the line of path that starts with key,
// or 0.
func fileKB(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			fs := strings.Fields(rest)
			if len(fs) > 0 {
				v, _ := strconv.ParseInt(fs[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
