package agent

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/agent/containerizer"
	"github.com/agoracluster/agora/agent/workload"
	"github.com/agoracluster/agora/internal/poll"
)

// instantContainerizer "starts" executors without processes, so benchmarks measure the
// agent's own per-task cost (sandbox, checkpoints, state, events).
type instantContainerizer struct {
	mu    sync.Mutex
	procs map[string]chan struct{}
	pid   int
}

func (c *instantContainerizer) Launch(_ context.Context, spec containerizer.ContainerSpec) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pid++
	c.procs[spec.ContainerID] = make(chan struct{})
	return c.pid, nil
}

func (c *instantContainerizer) Wait(ctx context.Context, id string) (containerizer.Termination, error) {
	c.mu.Lock()
	ch := c.procs[id]
	c.mu.Unlock()
	select {
	case <-ch:
		return containerizer.Termination{Status: int(syscall.SIGKILL), Message: "killed"}, nil
	case <-ctx.Done():
		return containerizer.Termination{}, ctx.Err()
	}
}

func (c *instantContainerizer) Kill(_ context.Context, id string, _ syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.procs[id]; ok {
		close(ch)
		delete(c.procs, id)
	}
	return nil
}

func (c *instantContainerizer) Recover(context.Context, []containerizer.RecoveredContainer) error {
	return nil
}

// BenchmarkLaunchTasks measures how long the agent takes to accept N command tasks and
// start their executors (without the executor processes themselves).
func BenchmarkLaunchTasks(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("tasks=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				benchLaunch(b, n)
			}
		})
	}
}

func benchLaunch(b *testing.B, n int) {
	b.StopTimer()
	fm := newFakeMaster(b)
	// As many launch slots as tasks: the executors never subscribe, and each would otherwise
	// hold its slot for launchSlotTimeout.
	ta := startAgentWith(b, fm.addr(), func(c *Config) { c.LaunchConcurrency = n }, func(a *Agent) {
		a.containerizer = &instantContainerizer{procs: map[string]chan struct{}{}}
	})
	defer ta.stop()
	poll.Eventually(b, 10*time.Second, func() bool { return len(fm.subscriptions()) > 0 }, "agent did not subscribe")
	b.StartTimer()
	for i := range n {
		fm.send(runTask("fw-1", commandTask(fmt.Sprintf("t%d", i), "run")))
	}
	poll.Eventually(b, time.Minute, func() bool {
		var started int
		_ = ta.a.query(context.Background(), func() {
			for _, fw := range ta.a.st.Frameworks {
				for _, ex := range fw.Executors {
					if ex.State == workload.ExecutorRegistering {
						started++
					}
				}
			}
		})
		return started == n
	}, "executors did not start")
	b.StopTimer()
}
