package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk/sdktest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const wait = 5 * time.Second

func TestSleepers(t *testing.T) {
	tests := []struct {
		name     string
		final    mesos.TaskState
		wantCode int
	}{
		{name: "all finish", final: mesos.TaskState_TASK_FINISHED, wantCode: 0},
		{name: "one fails", final: mesos.TaskState_TASK_FAILED, wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sdktest.NewMaster()
			defer m.Close()
			code := make(chan int, 1)
			go func() {
				code <- run(context.Background(), []string{"--master", m.Addr(), "--tasks", "3", "--cpus", "0.5", "--mem", "32"}, io.Discard)
			}()
			if _, err := m.Next(scheduler.Call_SUBSCRIBE, wait); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Next(scheduler.Call_RECONCILE, wait); err != nil { // subscribed
				t.Fatal(err)
			}
			// Two offers of room for two tasks each: three tasks land, one offer has room left.
			if err := m.SendOffers(m.NewOffer("o1", "a1", "cpus:1;mem:64"), m.NewOffer("o2", "a2", "cpus:1;mem:64")); err != nil {
				t.Fatal(err)
			}
			var tasks []*mesos.TaskInfo
			for len(tasks) < 3 {
				c, err := m.Next(scheduler.Call_ACCEPT, wait)
				if err != nil {
					t.Fatal(err)
				}
				tasks = append(tasks, c.GetAccept().GetOperations()[0].GetLaunch().GetTaskInfos()...)
			}
			if _, err := m.Next(scheduler.Call_SUPPRESS, wait); err != nil {
				t.Fatal(err)
			}
			for i, task := range tasks {
				state := mesos.TaskState_TASK_FINISHED
				if i == 1 {
					state = tt.final
				}
				st := sdktest.NewStatus(task.GetTaskId().GetValue(), task.GetAgentId().GetValue(), state, []byte{byte(i + 1)})
				if err := m.SendUpdate(st); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.Next(scheduler.Call_TEARDOWN, wait); err != nil {
				t.Fatal(err)
			}
			select {
			case got := <-code:
				if got != tt.wantCode {
					t.Errorf("exit code = %d, want %d", got, tt.wantCode)
				}
			case <-time.After(wait):
				t.Fatal("sleepers did not exit")
			}
		})
	}
}
