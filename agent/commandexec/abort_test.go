package commandexec

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"golang.org/x/sys/unix"

	"github.com/agoracluster/agora/agent/executorclient"
	"github.com/agoracluster/agora/agent/healthcheck"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/executor"
)

// startedPIDs records the pids Config.TaskStarted is called with; it is called on the
// executor's loop goroutine.
type startedPIDs struct {
	mu   sync.Mutex
	pids []int
}

func (s *startedPIDs) record(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pids = append(s.pids, pid)
}

// only returns the one pid TaskStarted was called with; call it once the agent has seen
// TASK_RUNNING, which the executor sends after calling TaskStarted.
func (s *startedPIDs) only(t *testing.T) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pids) != 1 || s.pids[0] <= 0 {
		t.Fatalf("TaskStarted called with %v, want one pid > 0", s.pids)
	}
	return s.pids[0]
}

// waitGroupGone polls until process group pgid has no live members: a member that was sent
// SIGKILL may still be on its way out when Run returns.
func waitGroupGone(t *testing.T, pgid int) {
	t.Helper()
	poll.Eventually(t, 5*time.Second, func() error {
		if live := liveGroupMembers(t, pgid); len(live) > 0 {
			return fmt.Errorf("task process group %d still has live members %v", pgid, live)
		}
		return nil
	})
}

func TestTaskSession(t *testing.T) {
	ourSID, err := unix.Getsid(0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		session bool
		wantSID func(pid int) int
	}{
		{"own session", true, func(pid int) int { return pid }},
		{"own process group in the executor's session", false, func(int) int { return ourSID }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := newFakeAgent(t, shellTask(`echo $$ > pid; exec sleep 60`))
			var started startedPIDs
			r := start(t, agent, func(c *Config) {
				c.TaskSession = tt.session
				c.TaskStarted = started.record
				c.ShutdownGracePeriod = 2 * time.Second
			})
			agent.waitState(mesos.TaskState_TASK_RUNNING)
			pid := started.only(t)
			if shell, _ := strconv.Atoi(r.waitFile(t, "pid")); shell != pid {
				t.Errorf("TaskStarted got pid %d, the task runs as pid %d", pid, shell)
			}
			if pgid, err := unix.Getpgid(pid); err != nil || pgid != pid {
				t.Errorf("getpgid(%d) = %d, %v; want the task's own process group %d", pid, pgid, err, pid)
			}
			if sid, err := unix.Getsid(pid); err != nil || sid != tt.wantSID(pid) {
				t.Errorf("getsid(%d) = %d, %v; want %d", pid, sid, err, tt.wantSID(pid))
			}

			r.cancel()
			agent.waitState(mesos.TaskState_TASK_KILLED)
			if err := r.wait(t); err != nil {
				t.Fatalf("Run = %v", err)
			}
			waitGroupGone(t, pid)
		})
	}
}

func TestAbort(t *testing.T) {
	stay := func(*testing.T, *fakeAgent) {}
	tests := []struct {
		name       string
		checkpoint bool
		// away brings the agent connection into the state the abort finds it in.
		away func(t *testing.T, a *fakeAgent)
	}{
		{"subscribed", true, stay},
		// Without checkpointing a closed connection means the agent is lost at once; the
		// connection the abort closes must not count.
		{"subscribed without checkpointing", false, stay},
		{"re-subscribing", true, func(t *testing.T, a *fakeAgent) {
			gate := make(chan struct{})
			t.Cleanup(func() { close(gate) }) // runs before the fake agent's server closes
			a.set(func(a *fakeAgent) { a.gate = gate })
			a.drop()
			a.waitFor("re-subscription", func(a *fakeAgent) bool { return len(a.subscribes) == 2 })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := newFakeAgent(t, shellTask(`sleep 60 & echo $! > child; exec sleep 60`))
			abort := make(chan struct{})
			var started startedPIDs
			r := start(t, agent, func(c *Config) {
				c.TaskSession = true
				c.TaskStarted = started.record
				c.Abort = abort
				c.Checkpoint = tt.checkpoint
			})
			agent.waitState(mesos.TaskState_TASK_RUNNING)
			r.waitFile(t, "child")
			pid := started.only(t)
			tt.away(t, agent)
			agent.mu.Lock()
			updatesBefore, subscribesBefore := stateNames(agent.updates), len(agent.subscribes)
			agent.mu.Unlock()

			close(abort)
			select {
			case err := <-r.result:
				close(r.result) // r.wait, in the cleanup, returns at once
				if err != nil {
					t.Errorf("Run = %v, want nil: the agent was not lost", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of the abort")
			}

			if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
				t.Errorf("kill(%d, 0) = %v after Run returned; want ESRCH (task killed and reaped)", pid, err)
			}
			waitGroupGone(t, pid)
			// Run has returned, so every call the executor made has been answered.
			agent.mu.Lock()
			updatesAfter, subscribesAfter := stateNames(agent.updates), len(agent.subscribes)
			agent.mu.Unlock()
			if !slices.Equal(updatesAfter, updatesBefore) {
				t.Errorf("updates = %v after the abort, %v before: the agent must hear nothing more", updatesAfter, updatesBefore)
			}
			if subscribesAfter != subscribesBefore {
				t.Errorf("%d subscriptions after the abort, %d before: the agent must hear nothing more", subscribesAfter, subscribesBefore)
			}
		})
	}
}

// killRecorder is a runner that only counts kills; the abort tests below feed the task's end
// to the executor themselves.
type killRecorder struct{ kills int }

var _ runner = (*killRecorder)(nil)

func (k *killRecorder) terminate(time.Duration) {}
func (k *killRecorder) kill()                   { k.kills++ }
func (k *killRecorder) probe(*mesos.HealthCheck, []string) (healthcheck.Probe, error) {
	return nil, errors.New("no probes")
}

// TestAbortWhateverComesFirst drives the loop's handlers by hand through the orders in which
// the task's end and the end of the cancelled agent connection can reach the loop after an
// abort; TestAbort cannot choose the order. In none of them may an update or a subscription
// go to the agent, or the agent be taken for lost.
func TestAbortWhateverComesFirst(t *testing.T) {
	exited := taskExited{outcome: func(bool) (mesos.TaskState, string, *mesos.TaskStatus_Reason) {
		return mesos.TaskState_TASK_KILLED, "Command terminated with signal Killed", nil
	}}
	closed := func(e *commandExecutor) { e.handle(streamClosed{conn: e.conn, err: context.Canceled}) }
	reaped := func(e *commandExecutor) { e.handle(exited) }
	tests := []struct {
		name       string
		checkpoint bool
		before     []func(e *commandExecutor) // what reached the loop before the abort
		after      []func(e *commandExecutor) // what reaches the loop after the abort, in order
	}{
		{"task reaped while still subscribed", true, nil, []func(e *commandExecutor){reaped}},
		{"connection closed, re-subscription due, then task reaped", true, nil, []func(e *commandExecutor){
			closed,
			func(e *commandExecutor) { stopTimer(&e.subscribeTimer); e.subscribe() }, // as the loop does when the timer fires
			reaped,
		}},
		{"connection closed without checkpointing, then task reaped", false, nil, []func(e *commandExecutor){closed, reaped}},
		// The agent went away before the abort: its recovery timer runs.
		{"agent away, then task reaped", true, []func(e *commandExecutor){closed}, []func(e *commandExecutor){reaped}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agent := newFakeAgent(t, nil)
			ioCtx, ioCancel := context.WithCancel(context.Background())
			ioCancel() // anything that still tried to reach the agent fails at once
			connCtx, connCancel := context.WithCancel(context.Background())
			defer connCancel()
			task := shellTask("sleep 60")
			run := &killRecorder{}
			cfg := DefaultConfig()
			cfg.FrameworkID, cfg.ExecutorID = "fw-1", "task-1"
			cfg.Checkpoint = tt.checkpoint
			e := &commandExecutor{
				cfg:        cfg,
				log:        zaptest.NewLogger(t),
				agent:      executorclient.New(agent.endpoint(), nil),
				ioCtx:      ioCtx,
				events:     make(chan any, 16),
				sendQ:      make(chan *executor.Call, sendQueueSize),
				conn:       1,
				connCancel: connCancel,
				subscribed: true,
				task:       task,
				taskAcked:  true,
				run:        run,
			}
			t.Cleanup(func() {
				e.wg.Wait()
				for _, tm := range []**time.Timer{&e.subscribeTimer, &e.killTimer, &e.ackTimer, &e.recoveryTimer, &e.hardStopTimer} {
					stopTimer(tm)
				}
			})

			for _, step := range tt.before {
				step(e)
			}
			e.abort()
			for _, step := range tt.after {
				step(e)
			}

			if run.kills == 0 {
				t.Error("the abort did not kill the task")
			}
			if connCtx.Err() == nil {
				t.Error("the abort left the agent connection open")
			}
			if !e.done {
				t.Error("the executor does not exit once the task is reaped")
			}
			if len(e.sendQ) != 0 {
				t.Errorf("%d calls queued for the agent after the abort", len(e.sendQ))
			}
			if e.recoveryTimer != nil || e.exitErr != nil {
				t.Errorf("recovery timer armed: %t, exit error: %v; an aborted executor must not find the agent lost", e.recoveryTimer != nil, e.exitErr)
			}
			if e.conn != 1 {
				t.Errorf("%d subscription attempts after the abort", e.conn-1)
			}
		})
	}
}
