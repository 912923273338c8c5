package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/agoracluster/agora/agent/statusupdate"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/recordio"
	"google.golang.org/protobuf/proto"
)

// Checkpoint layout (binary protobuf unless noted), enough for agent recovery to rebuild
// every framework, executor, task and pending status update:
//
//	<work_dir>/meta/boot_id                                      text: the host's boot id
//	<work_dir>/meta/slaves/latest -> <agent_id>                  symlink
//	<work_dir>/meta/slaves/<agent_id>/slave.info                 mesos.v1.AgentInfo (with id)
//	  frameworks/<framework_id>/framework.info                   mesos.v1.FrameworkInfo (with id)
//	  frameworks/<framework_id>/executors/<executor_id>/executor.info   mesos.v1.ExecutorInfo
//	    runs/latest -> <container_id>                            symlink
//	    runs/<container_id>/sandbox                              text: sandbox path
//	    runs/<container_id>/pids/forked.pid                      text: executor pid
//	    runs/<container_id>/tasks/<task_id>/task.info            mesos.v1.Task (state TASK_STAGING)
//	    runs/<container_id>/tasks/<task_id>/task.updates         append-only RecordIO stream
//
// Each task.updates record is one byte of type followed by its body: 'U' + an
// agora.v1.StatusUpdateRecord (an update received), or 'A' + the raw uuid bytes (the master
// acknowledged that update). Replaying the records through statusupdate.Manager.Recover
// rebuilds the task's stream.

const (
	recordTagUpdate = 'U'
	recordTagAck    = 'A'
)

// checkpointer writes the checkpoint files under <work_dir>/meta.
type checkpointer struct {
	workDir string
}

func (c checkpointer) agentDir(agentID string) string {
	return filepath.Join(c.workDir, "meta", "slaves", agentID)
}

func (c checkpointer) frameworkDir(agentID, frameworkID string) string {
	return filepath.Join(c.agentDir(agentID), "frameworks", frameworkID)
}

func (c checkpointer) executorDir(agentID, frameworkID, executorID string) string {
	return filepath.Join(c.frameworkDir(agentID, frameworkID), "executors", executorID)
}

func (c checkpointer) runDir(agentID, frameworkID, executorID, containerID string) string {
	return filepath.Join(c.executorDir(agentID, frameworkID, executorID), "runs", containerID)
}

func (c checkpointer) taskDir(agentID, frameworkID, executorID, containerID, taskID string) string {
	return filepath.Join(c.runDir(agentID, frameworkID, executorID, containerID), "tasks", taskID)
}

// writeAgent checkpoints the agent info and points meta/slaves/latest at it.
func (c checkpointer) writeAgent(info *mesos.AgentInfo, bootID string) error {
	id := info.GetId().GetValue()
	if err := writeProto(filepath.Join(c.agentDir(id), "slave.info"), info); err != nil {
		return err
	}
	if bootID != "" {
		if err := writeFileAtomic(filepath.Join(c.workDir, "meta", "boot_id"), []byte(bootID)); err != nil {
			return err
		}
	}
	return relink(filepath.Join(c.workDir, "meta", "slaves", "latest"), id)
}

func (c checkpointer) writeFramework(agentID string, info *mesos.FrameworkInfo) error {
	return writeProto(filepath.Join(c.frameworkDir(agentID, info.GetId().GetValue()), "framework.info"), info)
}

// writeExecutorRun checkpoints the executor info and its run (sandbox path, runs/latest).
func (c checkpointer) writeExecutorRun(agentID, frameworkID string, info *mesos.ExecutorInfo, containerID, sandbox string) error {
	eid := info.GetExecutorId().GetValue()
	if err := writeProto(filepath.Join(c.executorDir(agentID, frameworkID, eid), "executor.info"), info); err != nil {
		return err
	}
	run := c.runDir(agentID, frameworkID, eid, containerID)
	if err := writeFileAtomic(filepath.Join(run, "sandbox"), []byte(sandbox)); err != nil {
		return err
	}
	return relink(filepath.Join(filepath.Dir(run), "latest"), containerID)
}

func (c checkpointer) writePID(agentID, frameworkID, executorID, containerID string, pid int) error {
	return writeFileAtomic(filepath.Join(c.runDir(agentID, frameworkID, executorID, containerID), "pids", "forked.pid"),
		[]byte(strconv.Itoa(pid)))
}

func (c checkpointer) writeTask(agentID, frameworkID, executorID, containerID string, task *mesos.Task) error {
	dir := c.taskDir(agentID, frameworkID, executorID, containerID, task.GetTaskId().GetValue())
	return writeProto(filepath.Join(dir, "task.info"), task)
}

// appendUpdates appends records to a task's task.updates file.
func (c checkpointer) appendUpdates(agentID, frameworkID, executorID, containerID, taskID string, recs [][]byte) error {
	dir := c.taskDir(agentID, frameworkID, executorID, containerID, taskID)
	path := filepath.Join(dir, "task.updates")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("checkpoint update: %w", err)
	}
	var buf bytes.Buffer
	w := recordio.NewWriter(&buf)
	for _, r := range recs {
		if err := w.WriteRecord(r); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint update: %w", err)
	}
	return f.Close()
}

// encodeRecord frames a status update manager record for task.updates.
func encodeRecord(r statusupdate.Record) []byte {
	if r.Type == statusupdate.RecordAck {
		return append([]byte{recordTagAck}, r.UUID...)
	}
	return append([]byte{recordTagUpdate}, r.Update.Payload...)
}

// readTaskUpdates reads a task.updates file back into status update manager records.
func readTaskUpdates(path string) ([]statusupdate.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd := recordio.NewReader(f, 0)
	var out []statusupdate.Record
	for {
		rec, err := rd.ReadRecord()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return out, nil // a torn last record was never acknowledged to anyone
		}
		if err != nil {
			return out, err
		}
		if len(rec) == 0 {
			return out, fmt.Errorf("%s: empty record", path)
		}
		switch rec[0] {
		case recordTagAck:
			out = append(out, statusupdate.Record{Type: statusupdate.RecordAck, UUID: string(rec[1:])})
		case recordTagUpdate:
			var sur agorapb.StatusUpdateRecord
			if err := proto.Unmarshal(rec[1:], &sur); err != nil {
				return out, fmt.Errorf("%s: %w", path, err)
			}
			u := updateFromRecord(&sur, rec[1:])
			out = append(out, statusupdate.Record{Type: statusupdate.RecordUpdate, Task: u.Task, Update: u})
		default:
			return out, fmt.Errorf("%s: unknown record type %q", path, rec[0])
		}
	}
}

// updateFromRecord builds the status update manager's view of an update record.
func updateFromRecord(sur *agorapb.StatusUpdateRecord, payload []byte) statusupdate.Update {
	st := sur.GetStatus()
	return statusupdate.Update{
		Task:         statusupdate.TaskKey{FrameworkID: sur.GetFrameworkId().GetValue(), TaskID: st.GetTaskId().GetValue()},
		UUID:         string(st.GetUuid()),
		State:        st.GetState().String(),
		Terminal:     isTerminal(st.GetState()),
		FromExecutor: st.GetSource() == mesos.TaskStatus_SOURCE_EXECUTOR,
		Payload:      payload,
	}
}

func writeProto(path string, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", path, err)
	}
	return writeFileAtomic(path, b)
}

// writeFileAtomic writes data to path through a temporary file and a rename, creating the
// directory when needed.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// isTerminal reports whether a task state is terminal (as Mesos's isTerminalState).
func isTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TaskState_TASK_FINISHED, mesos.TaskState_TASK_FAILED, mesos.TaskState_TASK_KILLED,
		mesos.TaskState_TASK_LOST, mesos.TaskState_TASK_ERROR, mesos.TaskState_TASK_DROPPED,
		mesos.TaskState_TASK_GONE, mesos.TaskState_TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
