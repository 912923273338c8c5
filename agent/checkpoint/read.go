package checkpoint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/statusupdate"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// State is everything read back from the checkpoints of the latest agent run.
type State struct {
	BootID     string // boot id recorded by the previous run ("" when none)
	Agent      *mesos.AgentInfo
	Frameworks []*Framework
}

type Framework struct {
	Info      *mesos.FrameworkInfo
	Executors []*Executor
}

// Executor is the latest run of one executor.
type Executor struct {
	Info        *mesos.ExecutorInfo
	ContainerID string
	Sandbox     string
	PID         int    // 0 when the pid was never checkpointed
	StartTime   uint64 // /proc/<pid>/stat start time; 0 when unknown
	Hosted      bool   // runs in the executor host (pid and start time are the host's)
	Tasks       []*Task
}

type Task struct {
	Task    *mesos.Task
	Records []statusupdate.Record
}

// ReadBootID returns the recorded boot id, "" when there is none.
func (c Store) ReadBootID() string {
	b, err := os.ReadFile(filepath.Join(c.WorkDir, "meta", "boot_id"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Read returns the checkpoints of the latest agent run, or nil when there is none. A
// missing or unreadable piece below the agent is skipped with a note in warnings (a torn
// checkpoint of a task that was being launched must not stop recovery).
func (c Store) Read() (st *State, warnings []error, err error) {
	latest := filepath.Join(c.WorkDir, "meta", "slaves", "latest")
	target, err := os.Readlink(latest)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: recover: %w", err)
	}
	agentID := filepath.Base(target)
	info := &mesos.AgentInfo{}
	if err := readProto(filepath.Join(c.AgentDir(agentID), "slave.info"), info); err != nil {
		return nil, nil, fmt.Errorf("checkpoint: recover agent %s: %w", agentID, err)
	}
	if info.GetId().GetValue() != agentID {
		return nil, nil, fmt.Errorf("checkpoint: recover: slave.info of %s holds id %q", agentID, info.GetId().GetValue())
	}
	st = &State{BootID: c.ReadBootID(), Agent: info}
	fwIDs, _ := sandbox.ListDirs(filepath.Join(c.AgentDir(agentID), "frameworks"))
	for _, fid := range fwIDs {
		fw := &Framework{Info: &mesos.FrameworkInfo{}}
		if err := readProto(filepath.Join(c.FrameworkDir(agentID, fid), "framework.info"), fw.Info); err != nil {
			warnings = append(warnings, fmt.Errorf("framework %s: %w", fid, err))
			continue
		}
		exIDs, _ := sandbox.ListDirs(filepath.Join(c.FrameworkDir(agentID, fid), "executors"))
		for _, eid := range exIDs {
			ex, warn := c.readExecutor(agentID, fid, eid)
			warnings = append(warnings, warn...)
			if ex != nil {
				fw.Executors = append(fw.Executors, ex)
			}
		}
		st.Frameworks = append(st.Frameworks, fw)
	}
	return st, warnings, nil
}

func (c Store) readExecutor(agentID, fid, eid string) (*Executor, []error) {
	var warnings []error
	dir := c.ExecutorDir(agentID, fid, eid)
	cid, err := os.Readlink(filepath.Join(dir, "runs", "latest"))
	if err != nil {
		return nil, []error{fmt.Errorf("executor %s of framework %s: no run: %w", eid, fid, err)}
	}
	ex := &Executor{ContainerID: filepath.Base(cid)}
	run := c.RunDir(agentID, fid, eid, ex.ContainerID)
	log, err := ReadRunLog(filepath.Join(run, RunLog))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		warnings = append(warnings, fmt.Errorf("executor %s of framework %s: run log: %w", eid, fid, err))
	}
	ex.Info = log.Executor
	if ex.Info == nil { // earlier versions
		ex.Info = &mesos.ExecutorInfo{}
		if err := readProto(filepath.Join(dir, "executor.info"), ex.Info); err != nil {
			return nil, append(warnings, fmt.Errorf("executor %s of framework %s: %w", eid, fid, err))
		}
	}
	// Earlier versions checkpointed the sandbox path; it is the one derived from the work
	// dir now.
	if b, err := os.ReadFile(filepath.Join(run, "sandbox")); err == nil {
		ex.Sandbox = strings.TrimSpace(string(b))
	} else {
		ex.Sandbox = sandbox.Path(c.WorkDir, agentID, fid, eid, ex.ContainerID)
	}
	if log.HasPIDInfo {
		ex.PID, ex.StartTime, ex.Hosted = log.PID, log.StartTime, log.Hosted
	} else {
		if b, err := os.ReadFile(filepath.Join(run, "pids", "forked.pid")); err == nil {
			ex.PID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if b, err := os.ReadFile(filepath.Join(run, "pids", "forked.start")); err == nil {
			ex.StartTime, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		}
	}
	seen := make(map[string]bool)
	for _, task := range log.Tasks {
		tid := task.GetTaskId().GetValue()
		if seen[tid] {
			continue
		}
		seen[tid] = true
		ex.Tasks = append(ex.Tasks, &Task{Task: task, Records: log.Records[tid]})
	}
	for tid := range log.Records {
		if !seen[tid] {
			warnings = append(warnings, fmt.Errorf("task %s of framework %s: updates without the task", tid, fid))
		}
	}
	ex.Tasks = append(ex.Tasks, c.readTaskDirs(run, fid, &warnings)...)
	return ex, warnings
}

// ForgetLatest makes the next registration a new agent: meta/slaves/latest is removed (the
// old checkpoints stay for garbage collection).
func (c Store) ForgetLatest() error {
	err := os.Remove(filepath.Join(c.WorkDir, "meta", "slaves", "latest"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("checkpoint: forget checkpointed agent: %w", err)
	}
	return nil
}

// readTaskDirs reads the tasks of a run checkpointed by earlier versions, one directory
// each: tasks/<task_id>/task.info and task.updates.
func (c Store) readTaskDirs(run, fid string, warnings *[]error) []*Task {
	var out []*Task
	taskIDs, _ := sandbox.ListDirs(filepath.Join(run, "tasks"))
	for _, tid := range taskIDs {
		tdir := filepath.Join(run, "tasks", tid)
		t := &Task{Task: &mesos.Task{}}
		if err := readProto(filepath.Join(tdir, "task.info"), t.Task); err != nil {
			*warnings = append(*warnings, fmt.Errorf("task %s of framework %s: %w", tid, fid, err))
			continue
		}
		recs, err := readTaskUpdates(filepath.Join(tdir, "task.updates"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			*warnings = append(*warnings, fmt.Errorf("task %s of framework %s: updates: %w", tid, fid, err))
		}
		t.Records = recs
		out = append(out, t)
	}
	return out
}

func readProto(path string, m proto.Message) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
