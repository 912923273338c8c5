package containerizer

import (
	"bufio"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agoracluster/agora/agent/agenttest"
	"github.com/agoracluster/agora/agent/proc"
)

// startSession starts script under /bin/sh as the leader of a new session and returns the
// command and the pid the script prints first.
func startSession(t *testing.T, script string) (*exec.Cmd, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the child's pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child pid %q: %v", line, err)
	}
	return cmd, pid
}

// gone reports whether pid has exited (no process, or a zombie waiting for its parent).
func gone(pid int) bool {
	state, _, err := proc.Stat(pid)
	return errors.Is(err, proc.ErrNoProcess) || err == nil && (state == 'Z' || state == 'X')
}

func TestSessionKillerKillsWhatTheLeaderLeft(t *testing.T) {
	// The child runs in a process group of its own (job control), in the leader's session.
	cmd, child := startSession(t, "set -m; sleep 1000 & echo $!; exec sleep 1000")
	if sid, err := unix.Getsid(child); err != nil || sid != cmd.Process.Pid {
		t.Fatalf("child session = %d, %v; want %d", sid, err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if gone(child) {
		t.Fatal("the child died with its session leader; the test proves nothing")
	}
	newSessionKiller().kill(cmd.Process.Pid)
	agenttest.Eventually(t, 10*time.Second, func() bool { return gone(child) }, "the session's child survived")
}

func TestSessionKillerLeavesALiveLeadersSession(t *testing.T) {
	// A live leader means the pid was recycled for a new session: nothing may be killed.
	cmd, child := startSession(t, "sleep 1000 & echo $!; wait")
	newSessionKiller().kill(cmd.Process.Pid)
	if gone(child) || gone(cmd.Process.Pid) {
		t.Fatal("a live session was killed")
	}
}

func TestSessionKillerServesConcurrentCallers(t *testing.T) {
	k := newSessionKiller()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() { k.kill(1<<22 + i) }) // sessions that do not exist
	}
	wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.scanning || len(k.pending) != 0 || k.finished != k.started {
		t.Fatalf("killer left busy: scanning=%v pending=%d started=%d finished=%d", k.scanning, len(k.pending), k.started, k.finished)
	}
	if k.started > 50 {
		t.Fatalf("%d scans for 50 calls", k.started)
	}
}
