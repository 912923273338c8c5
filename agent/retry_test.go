package agent

import (
	"testing"
	"time"

	"github.com/agoracluster/agora/agent/clock/clocktest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TestStatusUpdateRetryFollowsTheClock: an unacknowledged update is sent again when the
// agent's clock reaches its retry time, not before, however long the test waits.
func TestStatusUpdateRetryFollowsTheClock(t *testing.T) {
	fm := newFakeMaster(t)
	fm.setAutoAck(false)
	fm.setHeartbeatInterval(3600) // the stream's watchdog must not fire as the clock jumps
	clk := clocktest.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	startAgentWith(t, fm.addr(), nil, func(a *Agent) { a.clock = clk })
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("t1", "run")))
	fm.waitState(t, "t1", mesos.TaskState_TASK_RUNNING)
	// The retry falls due on the agent's clock one initial retry interval (10s) after the
	// update was taken.
	clk.Advance(9 * time.Second)
	if got := len(fm.updates("t1")); got != 1 {
		t.Fatalf("%d updates before the retry time, want 1", got)
	}
	clk.Advance(time.Second)
	poll.Eventually(t, 10*time.Second, func() bool { return len(fm.updates("t1")) == 2 }, "the update was not sent again at its retry time")
	us := fm.updates("t1")
	if string(us[0].GetUuid()) != string(us[1].GetUuid()) {
		t.Fatalf("sent %v, then another update", states(us))
	}
}
