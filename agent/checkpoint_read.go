package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/agoracluster/agora/agent/statusupdate"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"google.golang.org/protobuf/proto"
)

// checkpointState is everything read back from the checkpoints of the latest agent run.
type checkpointState struct {
	bootID     string // boot id recorded by the previous run ("" when none)
	agent      *mesos.AgentInfo
	frameworks []*checkpointFramework
}

type checkpointFramework struct {
	info      *mesos.FrameworkInfo
	executors []*checkpointExecutor
}

// checkpointExecutor is the latest run of one executor.
type checkpointExecutor struct {
	info        *mesos.ExecutorInfo
	containerID string
	sandbox     string
	pid         int    // 0 when the pid was never checkpointed
	startTime   uint64 // /proc/<pid>/stat start time; 0 when unknown
	hosted      bool   // runs in the executor host (pid and start time are the host's)
	tasks       []*checkpointTask
}

type checkpointTask struct {
	task    *mesos.Task
	records []statusupdate.Record
}

// readBootIDFile returns the recorded boot id, "" when there is none.
func (c checkpointer) readBootID() string {
	b, err := os.ReadFile(filepath.Join(c.workDir, "meta", "boot_id"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// read returns the checkpoints of the latest agent run, or nil when there is none. A
// missing or unreadable piece below the agent is skipped with a note in warnings (a torn
// checkpoint of a task that was being launched must not stop recovery).
func (c checkpointer) read() (st *checkpointState, warnings []error, err error) {
	latest := filepath.Join(c.workDir, "meta", "slaves", "latest")
	target, err := os.Readlink(latest)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("agent: recover: %w", err)
	}
	agentID := filepath.Base(target)
	info := &mesos.AgentInfo{}
	if err := readProto(filepath.Join(c.agentDir(agentID), "slave.info"), info); err != nil {
		return nil, nil, fmt.Errorf("agent: recover agent %s: %w", agentID, err)
	}
	if info.GetId().GetValue() != agentID {
		return nil, nil, fmt.Errorf("agent: recover: slave.info of %s holds id %q", agentID, info.GetId().GetValue())
	}
	st = &checkpointState{bootID: c.readBootID(), agent: info}
	fwIDs, _ := listDirs(filepath.Join(c.agentDir(agentID), "frameworks"))
	for _, fid := range fwIDs {
		fw := &checkpointFramework{info: &mesos.FrameworkInfo{}}
		if err := readProto(filepath.Join(c.frameworkDir(agentID, fid), "framework.info"), fw.info); err != nil {
			warnings = append(warnings, fmt.Errorf("framework %s: %w", fid, err))
			continue
		}
		exIDs, _ := listDirs(filepath.Join(c.frameworkDir(agentID, fid), "executors"))
		for _, eid := range exIDs {
			ex, warn := c.readExecutor(agentID, fid, eid)
			warnings = append(warnings, warn...)
			if ex != nil {
				fw.executors = append(fw.executors, ex)
			}
		}
		st.frameworks = append(st.frameworks, fw)
	}
	return st, warnings, nil
}

func (c checkpointer) readExecutor(agentID, fid, eid string) (*checkpointExecutor, []error) {
	var warnings []error
	dir := c.executorDir(agentID, fid, eid)
	cid, err := os.Readlink(filepath.Join(dir, "runs", "latest"))
	if err != nil {
		return nil, []error{fmt.Errorf("executor %s of framework %s: no run: %w", eid, fid, err)}
	}
	ex := &checkpointExecutor{containerID: filepath.Base(cid)}
	run := c.runDir(agentID, fid, eid, ex.containerID)
	log, err := readRunLog(filepath.Join(run, runLog))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		warnings = append(warnings, fmt.Errorf("executor %s of framework %s: run log: %w", eid, fid, err))
	}
	ex.info = log.executor
	if ex.info == nil { // earlier versions
		ex.info = &mesos.ExecutorInfo{}
		if err := readProto(filepath.Join(dir, "executor.info"), ex.info); err != nil {
			return nil, append(warnings, fmt.Errorf("executor %s of framework %s: %w", eid, fid, err))
		}
	}
	// Earlier versions checkpointed the sandbox path; it is the one derived from the work
	// dir now.
	if b, err := os.ReadFile(filepath.Join(run, "sandbox")); err == nil {
		ex.sandbox = strings.TrimSpace(string(b))
	} else {
		ex.sandbox = sandboxPath(c.workDir, agentID, fid, eid, ex.containerID)
	}
	if log.hasPIDInfo {
		ex.pid, ex.startTime, ex.hosted = log.pid, log.startTime, log.hosted
	} else {
		if b, err := os.ReadFile(filepath.Join(run, "pids", "forked.pid")); err == nil {
			ex.pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if b, err := os.ReadFile(filepath.Join(run, "pids", "forked.start")); err == nil {
			ex.startTime, _ = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		}
	}
	seen := make(map[string]bool)
	for _, task := range log.tasks {
		tid := task.GetTaskId().GetValue()
		if seen[tid] {
			continue
		}
		seen[tid] = true
		ex.tasks = append(ex.tasks, &checkpointTask{task: task, records: log.records[tid]})
	}
	for tid := range log.records {
		if !seen[tid] {
			warnings = append(warnings, fmt.Errorf("task %s of framework %s: updates without the task", tid, fid))
		}
	}
	ex.tasks = append(ex.tasks, c.readTaskDirs(run, fid, &warnings)...)
	return ex, warnings
}

// forgetLatest makes the next registration a new agent: meta/slaves/latest is removed (the
// old checkpoints stay for garbage collection).
func (c checkpointer) forgetLatest() error {
	err := os.Remove(filepath.Join(c.workDir, "meta", "slaves", "latest"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("agent: forget checkpointed agent: %w", err)
	}
	return nil
}

// readTaskDirs reads the tasks of a run checkpointed by earlier versions, one directory
// each: tasks/<task_id>/task.info and task.updates.
func (c checkpointer) readTaskDirs(run, fid string, warnings *[]error) []*checkpointTask {
	var out []*checkpointTask
	taskIDs, _ := listDirs(filepath.Join(run, "tasks"))
	for _, tid := range taskIDs {
		tdir := filepath.Join(run, "tasks", tid)
		t := &checkpointTask{task: &mesos.Task{}}
		if err := readProto(filepath.Join(tdir, "task.info"), t.task); err != nil {
			*warnings = append(*warnings, fmt.Errorf("task %s of framework %s: %w", tid, fid, err))
			continue
		}
		recs, err := readTaskUpdates(filepath.Join(tdir, "task.updates"))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			*warnings = append(*warnings, fmt.Errorf("task %s of framework %s: updates: %w", tid, fid, err))
		}
		t.records = recs
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

// listDirs returns the names of the directories in dir, sorted.
func listDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out, nil
}
