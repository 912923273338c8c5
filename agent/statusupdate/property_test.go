package statusupdate

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// TestDeliveryProperty checks against a naive reference that, whatever the interleaving of
// updates (with duplicates), acknowledgements, retries and pauses, every task's distinct
// updates are sent in the order received, the only update ever sent for a task is its oldest
// unacknowledged one, each is acknowledged exactly once, none is lost, and every new update
// is persisted before it is acknowledged to the executor.
func TestDeliveryProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := New(DefaultConfig())
		now := epoch
		tasks := []TaskKey{{"f1", "a"}, {"f1", "b"}, {"f2", "a"}}
		received := map[TaskKey][]string{} // reference: distinct uuids in arrival order
		acked := map[TaskKey][]string{}    // uuids acknowledged by the "master", in order
		persisted := map[string]bool{}
		inFlight := map[TaskKey]string{} // last uuid sent per task
		next := 0

		check := func() {
			rd := m.Ready()
			for _, p := range rd.Persist {
				if p.Type == RecordUpdate {
					persisted[p.Update.UUID] = true
				}
			}
			for _, u := range rd.AckExecutor {
				if !persisted[u.UUID] {
					t.Fatalf("update %s acknowledged to the executor before it was persisted", u.UUID)
				}
			}
			for _, u := range rd.Send {
				want := received[u.Task][len(acked[u.Task])]
				if u.UUID != want {
					t.Fatalf("task %s: sent %s, oldest unacknowledged is %s", u.Task, u.UUID, want)
				}
				inFlight[u.Task] = u.UUID
			}
		}

		ops := rapid.IntRange(10, 200).Draw(t, "ops")
		for range ops {
			task := tasks[rapid.IntRange(0, len(tasks)-1).Draw(t, "task")]
			switch rapid.IntRange(0, 5).Draw(t, "op") {
			case 0, 1: // new update
				next++
				u := fmt.Sprintf("u%d", next)
				if err := m.Update(Update{Task: task, UUID: u, State: "TASK_RUNNING", FromExecutor: true}, now); err != nil {
					t.Fatal(err)
				}
				received[task] = append(received[task], u)
			case 2: // duplicate of an earlier update
				if len(received[task]) == 0 {
					continue
				}
				u := received[task][rapid.IntRange(0, len(received[task])-1).Draw(t, "dup")]
				if err := m.Update(Update{Task: task, UUID: u, State: "TASK_RUNNING", FromExecutor: true}, now); err != nil {
					t.Fatal(err)
				}
			case 3: // the master acknowledges what it last got
				u, ok := inFlight[task]
				if !ok {
					continue
				}
				delete(inFlight, task)
				already := len(acked[task]) > 0 && slices.Contains(acked[task], u)
				if err := m.Ack(task, u, now); err != nil {
					t.Fatal(err)
				}
				if !already {
					acked[task] = append(acked[task], u)
				}
			case 4:
				now = now.Add(time.Duration(rapid.IntRange(1, 700).Draw(t, "secs")) * time.Second)
				m.Tick(now)
			case 5:
				if m.Paused() {
					m.Resume(now)
				} else {
					m.Pause()
				}
			}
			check()
		}
		// Drain: reconnect and acknowledge until nothing is left.
		m.Resume(now)
		check()
		for range 10000 {
			if len(inFlight) == 0 {
				break
			}
			for task, u := range inFlight {
				delete(inFlight, task)
				if err := m.Ack(task, u, now); err != nil {
					t.Fatal(err)
				}
				acked[task] = append(acked[task], u)
			}
			check()
		}
		for _, task := range tasks {
			if fmt.Sprint(acked[task]) != fmt.Sprint(received[task]) {
				t.Fatalf("task %s: acknowledged %v, received %v", task, acked[task], received[task])
			}
		}
		if n := m.PendingCount(); n != 0 {
			t.Fatalf("%d updates still pending", n)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"default", DefaultConfig(), false},
		{"zero initial", Config{MaxRetry: time.Second}, true},
		{"max below initial", Config{InitialRetry: time.Minute, MaxRetry: time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate() = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}
