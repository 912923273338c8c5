package checkpoint

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/statusupdate"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/recordio"
)

// Checkpoint layout (binary protobuf unless noted), enough for agent recovery to rebuild
// every framework, executor, task and pending status update:
//
//	<work_dir>/meta/boot_id                                      text: the host's boot id
//	<work_dir>/meta/resources/resources.info                     agora.v1.AgentEvent.CheckpointResources:
//	                                                             dynamic reservations and persistent volumes
//	<work_dir>/meta/slaves/latest -> <agent_id>                  symlink
//	<work_dir>/meta/slaves/<agent_id>/slave.info                 mesos.v1.AgentInfo (with id)
//	  frameworks/<framework_id>/framework.info                   mesos.v1.FrameworkInfo (with id)
//	  frameworks/<framework_id>/executors/<executor_id>/runs/latest -> <container_id>   symlink
//	    runs/<container_id>/run.log                              append-only RecordIO stream
//	    runs/<container_id>/pids/forked.pid                      text: executor pid (for tools)
//
// Every file created costs an inode, and allocating one is most of the agent's own work
// per task on a busy ext4 (a thousand tasks launched at once), so all there is to know
// about a run goes into one log. Each record is one byte of type followed by its body:
//
//	'E' + mesos.v1.ExecutorInfo         the executor (first record)
//	'P' + "<pid> <start time>"          the started executor's pid and /proc start time
//	'H' + "<pid> <start time>"          the executor runs in the executor host, this one
//	'T' + mesos.v1.Task                 a task given to the executor (state TASK_STAGING)
//	'U' + agora.v1.StatusUpdateRecord   a status update received
//	'A' + raw uuid bytes                the master acknowledged the update with that uuid
//	                                    (uuids are unique: the update names the task)
//
// Replaying a task's 'U' and 'A' records through statusupdate.Manager.Recover rebuilds its
// stream. Checkpoints of earlier versions (executors/<id>/executor.info, runs/<id>/sandbox,
// pids/forked.start, tasks/<task_id>/task.info and task.updates) are still read.
//
// Files are replaced by writing a temporary file and renaming it, and the log is only
// appended to, so an agent killed at any point leaves whole files and at worst a torn last
// record (ignored: it was never acknowledged to anyone). Nothing is fsynced: checkpoints
// outlive the agent process, not the host, and after a reboot the agent starts afresh
// (boot id) anyway, as its executors are gone.

const (
	recordTagExecutor = 'E'
	recordTagPID      = 'P'
	recordTagHosted   = 'H'
	recordTagTask     = 'T'
	recordTagUpdate   = 'U'
	recordTagAck      = 'A'
)

// RunLog is the name of a run's log.
const RunLog = "run.log"

// Store writes and reads the checkpoint files under <WorkDir>/meta.
type Store struct {
	WorkDir string
}

func (c Store) AgentDir(agentID string) string {
	return filepath.Join(c.WorkDir, "meta", "slaves", agentID)
}

func (c Store) FrameworkDir(agentID, frameworkID string) string {
	return filepath.Join(c.AgentDir(agentID), "frameworks", frameworkID)
}

func (c Store) ExecutorDir(agentID, frameworkID, executorID string) string {
	return filepath.Join(c.FrameworkDir(agentID, frameworkID), "executors", executorID)
}

func (c Store) RunDir(agentID, frameworkID, executorID, containerID string) string {
	return filepath.Join(c.ExecutorDir(agentID, frameworkID, executorID), "runs", containerID)
}

// taskDir is where checkpoints of earlier versions kept a task's files.
func (c Store) taskDir(agentID, frameworkID, executorID, containerID, taskID string) string {
	return filepath.Join(c.RunDir(agentID, frameworkID, executorID, containerID), "tasks", taskID)
}

// writeAgent checkpoints the agent info and points meta/slaves/latest at it.
func (c Store) WriteAgent(info *mesos.AgentInfo, bootID string) error {
	id := info.GetId().GetValue()
	if err := os.MkdirAll(c.AgentDir(id), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := writeProto(filepath.Join(c.AgentDir(id), "slave.info"), info); err != nil {
		return err
	}
	if bootID != "" {
		if err := writeFileAtomic(filepath.Join(c.WorkDir, "meta", "boot_id"), []byte(bootID)); err != nil {
			return err
		}
	}
	return sandbox.Relink(filepath.Join(c.WorkDir, "meta", "slaves", "latest"), id)
}

func (c Store) WriteFramework(agentID string, info *mesos.FrameworkInfo) error {
	dir := c.FrameworkDir(agentID, info.GetId().GetValue())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return writeProto(filepath.Join(dir, "framework.info"), info)
}

// writeExecutorRun checkpoints a new run of an executor before it starts: the run's
// directories, runs/latest, and a log with the executor info and the records (taskRecord)
// of the tasks it is started for.
func (c Store) WriteExecutorRun(agentID, frameworkID string, info *mesos.ExecutorInfo, containerID string, hosted bool, taskRecs [][]byte) error {
	eid := info.GetExecutorId().GetValue()
	dirs := []string{"executors", eid, "runs", containerID, "pids"}
	if hosted {
		dirs = dirs[:4] // a hosted executor has no pid of its own for tools to read
	}
	if err := sandbox.Mkdirs(c.FrameworkDir(agentID, frameworkID), dirs...); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := sandbox.Link(filepath.Join(c.ExecutorDir(agentID, frameworkID, eid), "runs", "latest"), containerID); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	b, err := proto.Marshal(info)
	if err != nil {
		return fmt.Errorf("checkpoint executor %s: %w", eid, err)
	}
	recs := append([][]byte{append([]byte{recordTagExecutor}, b...)}, taskRecs...)
	return c.appendRecords(c.RunDir(agentID, frameworkID, eid, containerID), recs)
}

// taskRecord frames a task for the run log.
func TaskRecord(task *mesos.Task) ([]byte, error) {
	b, err := proto.Marshal(task)
	if err != nil {
		return nil, fmt.Errorf("checkpoint task %s: %w", task.GetTaskId().GetValue(), err)
	}
	return append([]byte{recordTagTask}, b...), nil
}

// writePID checkpoints a started executor's pid and start time (0: unknown); for a hosted
// executor, the executor host's.
func (c Store) WritePID(agentID, frameworkID, executorID, containerID string, pid int, start uint64, hosted bool) error {
	run := c.RunDir(agentID, frameworkID, executorID, containerID)
	tag := byte(recordTagPID)
	if hosted {
		tag = recordTagHosted
	}
	rec := []byte{tag}
	rec = strconv.AppendInt(rec, int64(pid), 10)
	rec = append(rec, ' ')
	rec = strconv.AppendUint(rec, start, 10)
	if err := c.appendRecords(run, [][]byte{rec}); err != nil {
		return err
	}
	if hosted {
		return nil
	}
	return writeFileAtomic(filepath.Join(run, "pids", "forked.pid"), []byte(strconv.Itoa(pid)))
}

// writeTask checkpoints a task given to an executor that already runs.
func (c Store) WriteTask(agentID, frameworkID, executorID, containerID string, task *mesos.Task) error {
	rec, err := TaskRecord(task)
	if err != nil {
		return err
	}
	return c.appendRecords(c.RunDir(agentID, frameworkID, executorID, containerID), [][]byte{rec})
}

// appendUpdates appends status update manager records of a task to its run's log.
func (c Store) AppendUpdates(agentID, frameworkID, executorID, containerID, _ string, recs [][]byte) error {
	return c.appendRecords(c.RunDir(agentID, frameworkID, executorID, containerID), recs)
}

// appendRecords appends records to the log of the run in dir with one write.
func (c Store) appendRecords(dir string, recs [][]byte) error {
	var buf bytes.Buffer
	w := recordio.NewWriter(&buf)
	for _, r := range recs {
		if err := w.WriteRecord(r); err != nil {
			return err
		}
	}
	path := filepath.Join(dir, RunLog)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		// An update for a run whose directory is not there yet (the executor is still
		// being launched) or no longer there.
		if err = os.MkdirAll(dir, 0o755); err == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// encodeRecord frames a status update manager record for task.updates.
func EncodeRecord(r statusupdate.Record) []byte {
	if r.Type == statusupdate.RecordAck {
		return append([]byte{recordTagAck}, r.UUID...)
	}
	return append([]byte{recordTagUpdate}, r.Update.Payload...)
}

// readTaskUpdates reads a task.updates file (earlier versions) back into status update
// manager records.
func readTaskUpdates(path string) ([]statusupdate.Record, error) {
	log, err := ReadRunLog(path)
	var out []statusupdate.Record
	for _, recs := range log.Records {
		out = append(out, recs...)
	}
	return out, err
}

// RunRecords is a run's log read back.
type RunRecords struct {
	Executor   *mesos.ExecutorInfo // nil without an 'E' record
	PID        int
	StartTime  uint64
	Tasks      []*mesos.Task                    // in the order they were checkpointed
	Records    map[string][]statusupdate.Record // update manager records by task id
	HasPIDInfo bool
	Hosted     bool // an 'H' record: the pid is the executor host's
}

// readRunLog reads a run log (or an earlier version's task.updates, which holds only 'U'
// and 'A' records). It returns what it could read along with an error for a malformed
// record.
func ReadRunLog(path string) (RunRecords, error) {
	log := RunRecords{Records: make(map[string][]statusupdate.Record)}
	f, err := os.Open(path)
	if err != nil {
		return log, err
	}
	defer f.Close()
	rd := recordio.NewReader(f, 0)
	byUUID := make(map[string]string) // update uuid -> task id
	for {
		rec, err := rd.ReadRecord()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return log, nil // a torn last record was never acknowledged to anyone
		}
		if err != nil {
			return log, err
		}
		if len(rec) == 0 {
			return log, fmt.Errorf("%s: empty record", path)
		}
		switch rec[0] {
		case recordTagExecutor:
			info := &mesos.ExecutorInfo{}
			if err := proto.Unmarshal(rec[1:], info); err != nil {
				return log, fmt.Errorf("%s: %w", path, err)
			}
			log.Executor = info
		case recordTagPID, recordTagHosted:
			var pid int
			var start uint64
			if _, err := fmt.Sscanf(string(rec[1:]), "%d %d", &pid, &start); err != nil {
				return log, fmt.Errorf("%s: pid record %q: %w", path, rec[1:], err)
			}
			log.PID, log.StartTime, log.HasPIDInfo = pid, start, true
			log.Hosted = rec[0] == recordTagHosted
		case recordTagTask:
			t := &mesos.Task{}
			if err := proto.Unmarshal(rec[1:], t); err != nil {
				return log, fmt.Errorf("%s: %w", path, err)
			}
			log.Tasks = append(log.Tasks, t)
		case recordTagAck:
			uuid := string(rec[1:])
			tid, ok := byUUID[uuid]
			if !ok {
				return log, fmt.Errorf("%s: acknowledgement of an unknown update", path)
			}
			log.Records[tid] = append(log.Records[tid], statusupdate.Record{Type: statusupdate.RecordAck, UUID: uuid})
		case recordTagUpdate:
			var sur agorapb.StatusUpdateRecord
			if err := proto.Unmarshal(rec[1:], &sur); err != nil {
				return log, fmt.Errorf("%s: %w", path, err)
			}
			u := UpdateFromRecord(&sur, rec[1:])
			byUUID[u.UUID] = u.Task.TaskID
			log.Records[u.Task.TaskID] = append(log.Records[u.Task.TaskID],
				statusupdate.Record{Type: statusupdate.RecordUpdate, Task: u.Task, Update: u})
		default:
			return log, fmt.Errorf("%s: unknown record type %q", path, rec[0])
		}
	}
}

// updateFromRecord builds the status update manager's view of an update record.
func UpdateFromRecord(sur *agorapb.StatusUpdateRecord, payload []byte) statusupdate.Update {
	st := sur.GetStatus()
	return statusupdate.Update{
		Task:         statusupdate.TaskKey{FrameworkID: sur.GetFrameworkId().GetValue(), TaskID: st.GetTaskId().GetValue()},
		UUID:         string(st.GetUuid()),
		State:        st.GetState().String(),
		Terminal:     st.GetState().IsTerminal(),
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

// writeFileAtomic writes data to path (whose directory exists) through a temporary file
// and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
