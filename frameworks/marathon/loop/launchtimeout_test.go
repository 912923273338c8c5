package loop

import (
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/tasks"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// TestTaskLaunchTimeoutKillsStuckTasks: a task that stays staging longer than
// --task_launch_timeout is killed (its replacement follows the kill's terminal update);
// one that is younger is left alone.
func TestTaskLaunchTimeoutKillsStuckTasks(t *testing.T) {
	l := newTestLoop(t)
	l.cfg.TaskLaunchTimeout = time.Minute
	tx := &Tx{l: l.Loop}
	if _, _, err := tx.CreateApp([]byte(`{"id":"/slow","cmd":"sleep 100","cpus":0.1,"mem":16}`), false, Origin{}); err != nil {
		t.Fatal(err)
	}
	l.handleOffers([]*mesos.Offer{offer("o1", "a1", "cpus:4;mem:1024;ports:[31000-31009]")})
	ts := tx.View().TasksOf("/slow")
	if len(ts) != 1 || ts[0].State != tasks.StateStaging {
		t.Fatalf("tasks = %+v", ts)
	}
	l.now = l.now.Add(30 * time.Second)
	l.tick()
	if tx.View().TasksOf("/slow")[0].Killing {
		t.Fatal("killed before the launch timeout")
	}
	l.now = l.now.Add(31 * time.Second)
	l.tick()
	if !tx.View().TasksOf("/slow")[0].Killing {
		t.Fatal("still staging after the launch timeout and not killed")
	}
}
