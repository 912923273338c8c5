package exechost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/internal/poll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startHost serves a host on a fresh address until the test ends.
func startHost(t *testing.T, cfg Config) (*Client, string) {
	t.Helper()
	work := t.TempDir()
	ln, err := Listen(Address(work))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New(cfg, zaptest.NewLogger(t)).Run(ctx, ln) }()
	c := NewClient(Address(work))
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("host: %v", err)
		}
		c.Close()
	})
	return c, work
}

// executorEnv is a valid executor environment whose agent never answers.
func executorEnv(sandbox string) []string {
	return []string{
		"MESOS_FRAMEWORK_ID=fw", "MESOS_EXECUTOR_ID=ex", "MESOS_AGENT_ENDPOINT=127.0.0.1:1",
		"MESOS_SANDBOX=" + sandbox, "MESOS_DIRECTORY=" + sandbox, "MESOS_SUBSCRIPTION_BACKOFF_MAX=50ms",
	}
}

func post(t *testing.T, work, path, body string) (int, string) {
	t.Helper()
	c := NewClient(Address(work))
	defer c.Close()
	req, err := http.NewRequest(http.MethodPost, "http://executor-host"+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLaunchRefusesBadRequests(t *testing.T) {
	_, work := startHost(t, DefaultConfig())
	sandbox := t.TempDir()
	for _, tc := range []struct {
		name, body, want string
	}{
		{"malformed JSON", `{"container_id":`, "malformed launch request"},
		{"unknown field", `{"container_id":"c","envs":[]}`, `unknown field "envs"`},
		{"no container id", `{"env":[]}`, "container_id is empty"},
		{"no executor environment", `{"container_id":"c","env":["MESOS_SANDBOX=` + sandbox + `"]}`, "MESOS_FRAMEWORK_ID"},
		{"no sandbox", `{"container_id":"c","env":["MESOS_FRAMEWORK_ID=f","MESOS_EXECUTOR_ID=e","MESOS_AGENT_ENDPOINT=127.0.0.1:1","MESOS_SANDBOX=/nonexistent/sandbox"]}`, "sandbox"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, msg := post(t, work, "/v1/containers", tc.body)
			if code != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
				t.Fatalf("answer %d %q, want 400 naming %q", code, msg, tc.want)
			}
		})
	}
	big := `{"container_id":"c","env":["X=` + strings.Repeat("x", maxRequestBytes) + `"]}`
	if code, msg := post(t, work, "/v1/containers", big); code != http.StatusBadRequest {
		t.Fatalf("oversized request: %d %q", code, msg)
	}
}

func TestExecutorLifecycle(t *testing.T) {
	c, _ := startHost(t, DefaultConfig())
	ctx := context.Background()
	sandbox := t.TempDir()
	stream, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	if ev := next(t, stream); ev.Type != EventSynced || ev.HostPID != os.Getpid() {
		t.Fatalf("first event of an empty host = %+v", ev)
	}

	if err := c.Launch(ctx, LaunchRequest{ContainerID: "c1", Env: executorEnv(sandbox)}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, stream); ev.Type != EventRunning || ev.ContainerID != "c1" {
		t.Fatalf("event after launch = %+v", ev)
	}
	if err := c.Launch(ctx, LaunchRequest{ContainerID: "c1", Env: executorEnv(sandbox)}); err == nil || !strings.Contains(err.Error(), "already known") {
		t.Fatalf("second launch of c1: %v", err)
	}
	if err := c.Forget(ctx, "c1"); err == nil || !strings.Contains(err.Error(), "still runs") {
		t.Fatalf("forget a running executor: %v", err)
	}

	// A new stream starts with the state of every executor.
	if err := c.Launch(ctx, LaunchRequest{ContainerID: "c2", Env: executorEnv(sandbox)}); err != nil {
		t.Fatal(err)
	}
	late, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]EventType{}
	for ev := next(t, late); ev.Type != EventSynced; ev = next(t, late) {
		seen[ev.ContainerID] = ev.Type
	}
	late.Close()
	if len(seen) != 2 || seen["c1"] != EventRunning || seen["c2"] != EventRunning {
		t.Fatalf("state at subscription = %v", seen)
	}

	// The executors log to their sandbox's stderr, as an executor process would (waited
	// for while they run: one killed at once may not have written yet).
	poll.Eventually(t, 10*time.Second, func() error {
		if b, err := os.ReadFile(sandbox + "/stderr"); err != nil || !bytes.Contains(b, []byte("commandexec")) {
			return fmt.Errorf("executor log = %q, %v", b, err)
		}
		return nil
	})

	// Kill ends an executor at once, with the wait status of SIGKILL.
	if err := c.Kill(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	for {
		ev := next(t, stream)
		if ev.Type == EventExited && ev.ContainerID == "c1" {
			if ws := syscall.WaitStatus(ev.Status); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Fatalf("exit of a killed executor = %+v", ev)
			}
			break
		}
	}
	if err := c.Kill(ctx, "c1"); err != nil {
		t.Fatalf("kill of an ended executor: %v", err)
	}
	if err := c.Forget(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := c.Forget(ctx, "c1"); !errors.Is(err, ErrUnknownContainer) {
		t.Fatalf("forget twice: %v", err)
	}
	if err := c.Kill(ctx, "nope"); !errors.Is(err, ErrUnknownContainer) {
		t.Fatalf("kill of an unknown executor: %v", err)
	}
}

func next(t *testing.T, s *EventStream) Event {
	t.Helper()
	type result struct {
		ev  Event
		err error
	}
	ch := make(chan result, 1)
	go func() { ev, err := s.Next(); ch <- result{ev, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatal(r.err)
		}
		return r.ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return Event{}
}

func TestShutdownKillsEverything(t *testing.T) {
	work := t.TempDir()
	ln, err := Listen(Address(work))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- New(DefaultConfig(), zaptest.NewLogger(t)).Run(context.Background(), ln) }()
	c := NewClient(Address(work))
	defer c.Close()
	ctx := context.Background()
	stream, err := c.Events(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	next(t, stream)
	if err := c.Launch(ctx, LaunchRequest{ContainerID: "c1", Env: executorEnv(t.TempDir())}); err != nil {
		t.Fatal(err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var exited bool
	for {
		ev, err := stream.Next()
		if err != nil {
			break // the stream ends with the host, after the exits
		}
		exited = exited || (ev.Type == EventExited && ev.ContainerID == "c1")
	}
	if !exited {
		t.Fatal("the stream ended without the executor's exit")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("host still runs after shutdown")
	}
}

func TestIdleHostExits(t *testing.T) {
	work := t.TempDir()
	ln, err := Listen(Address(work))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.IdleTimeout = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- New(cfg, zaptest.NewLogger(t)).Run(context.Background(), ln) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("idle host did not exit")
	}
}

func TestSecondHostForAWorkDirStepsAside(t *testing.T) {
	_, work := startHost(t, DefaultConfig())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Serve(ctx, work, DefaultConfig(), zaptest.NewLogger(t)); err != nil {
		t.Fatalf("second host: %v", err)
	}
	if ctx.Err() != nil {
		t.Fatal("second host served instead of stepping aside")
	}
}

func TestAddressDependsOnTheWorkDir(t *testing.T) {
	if got := Address("/var/lib/agora/agent/"); got != "/var/lib/agora/agent/executor-host.sock" {
		t.Fatalf("address = %q", got)
	}
	// A work dir too deep for a socket path gets a directory of its own under $TMPDIR.
	long1 := "/" + strings.Repeat("d", 100) + "/agent1"
	long2 := "/" + strings.Repeat("d", 100) + "/agent2"
	a, b := Address(long1), Address(long2)
	if a == b || len(a) > maxSocketPath || !strings.HasPrefix(a, os.TempDir()+"/agora-executor-host-") {
		t.Fatalf("addresses %q and %q", a, b)
	}
}

func TestListenReplacesAStaleSocketOnly(t *testing.T) {
	addr := Address(t.TempDir())
	ln, err := Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(addr); !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second listener on a live socket: %v", err)
	}
	// A host killed outright leaves its socket file behind.
	ln.(*peerListener).Listener.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(addr); err != nil {
		t.Fatal(err)
	}
	ln, err = Listen(addr)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	ln.Close()
	if fi, err := os.Stat(filepath.Dir(addr)); err == nil {
		if err := os.Chmod(filepath.Dir(addr), fi.Mode().Perm()|0o002); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Listen(addr); err == nil || !strings.Contains(err.Error(), "writable by others") {
		t.Fatalf("listen in a world-writable directory: %v", err)
	}
}
