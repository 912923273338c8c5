package batch

import (
	"testing"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestExitStatus(t *testing.T) {
	tests := []struct {
		state mesos.TaskState
		msg   string
		code  int
		ok    bool
	}{
		{mesos.TaskState_TASK_FAILED, "Command exited with status 1", 1, true},
		{mesos.TaskState_TASK_FAILED, "Container exited with status 137", 137, true},
		{mesos.TaskState_TASK_FAILED, "Command exited with status -1 (signal)", -1, true},
		{mesos.TaskState_TASK_FINISHED, "Command exited with status 0", 0, true},
		{mesos.TaskState_TASK_FINISHED, "", 0, true},
		{mesos.TaskState_TASK_FAILED, "Command exited with status x", 0, false},
		{mesos.TaskState_TASK_FAILED, "Command exited with status ", 0, false},
		{mesos.TaskState_TASK_KILLED, "killed", 0, false},
	}
	for _, tt := range tests {
		st := &mesos.TaskStatus{State: tt.state.Enum(), Message: proto.String(tt.msg)}
		if code, ok := exitStatus(st); code != tt.code || ok != tt.ok {
			t.Errorf("exitStatus(%s %q) = %d, %v; want %d, %v", tt.state, tt.msg, code, ok, tt.code, tt.ok)
		}
	}
}
