package checkpoint

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/sandbox"
	"github.com/agoracluster/agora/agent/statusupdate"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

const ckptAgentID = "A-S1"

func ckptTask(id string) *mesos.Task {
	return &mesos.Task{
		Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)},
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw")}, ExecutorId: &mesos.ExecutorID{Value: proto.String("ex")},
		AgentId: &mesos.AgentID{Value: proto.String(ckptAgentID)}, State: mesos.TaskState_TASK_STAGING.Enum(),
	}
}

// ckptUpdate returns the task log record of an update and of its acknowledgement.
func ckptUpdate(t *testing.T, taskID, uuid string, state mesos.TaskState) (update, ack []byte) {
	t.Helper()
	b, err := proto.Marshal(&agorapb.StatusUpdateRecord{
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw")},
		Status: &mesos.TaskStatus{TaskId: &mesos.TaskID{Value: proto.String(taskID)}, State: state.Enum(),
			Uuid: []byte(uuid), Source: mesos.TaskStatus_SOURCE_EXECUTOR.Enum()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{recordTagUpdate}, b...), append([]byte{recordTagAck}, uuid...)
}

// ckptStart checkpoints an agent, framework fw and a run c1 of executor ex.
func ckptStart(t *testing.T, c Store, taskIDs ...string) {
	t.Helper()
	if err := c.WriteAgent(&mesos.AgentInfo{Hostname: proto.String("h"), Id: &mesos.AgentID{Value: proto.String(ckptAgentID)}}, "boot"); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteFramework(ckptAgentID, &mesos.FrameworkInfo{User: proto.String("u"), Name: proto.String("f"),
		Id: &mesos.FrameworkID{Value: proto.String("fw")}}); err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for _, id := range taskIDs {
		rec, err := TaskRecord(ckptTask(id))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	info := &mesos.ExecutorInfo{ExecutorId: &mesos.ExecutorID{Value: proto.String("ex")}, Command: &mesos.CommandInfo{Value: proto.String("x")}}
	if err := c.WriteExecutorRun(ckptAgentID, "fw", info, "c1", false, recs); err != nil {
		t.Fatal(err)
	}
}

// summary renders what was read back: per task its id and record types.
func summary(t *testing.T, c Store) string {
	t.Helper()
	st, warnings, err := c.Read()
	if err != nil || len(warnings) > 0 {
		t.Fatalf("read: %v, warnings %v", err, warnings)
	}
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].Executors) != 1 {
		t.Fatalf("read %d frameworks", len(st.Frameworks))
	}
	ex := st.Frameworks[0].Executors[0]
	var b strings.Builder
	b.WriteString("run=" + ex.ContainerID + " pid=" + strconv.Itoa(ex.PID) + " start=" + strconv.Itoa(int(ex.StartTime)))
	if ex.Sandbox != sandbox.Path(c.WorkDir, ckptAgentID, "fw", "ex", "c1") {
		b.WriteString(" sandbox=" + ex.Sandbox)
	}
	for _, task := range ex.Tasks {
		b.WriteString(" " + task.Task.GetTaskId().GetValue() + ":")
		for _, r := range task.Records {
			if r.Type == statusupdate.RecordAck {
				b.WriteString("A")
			} else {
				b.WriteString("U")
			}
		}
	}
	return b.String()
}

func TestCheckpointRoundTrip(t *testing.T) {
	c := Store{WorkDir: t.TempDir()}
	ckptStart(t, c, "t1", "t2")
	if err := c.WritePID(ckptAgentID, "fw", "ex", "c1", 42, 4242, false); err != nil {
		t.Fatal(err)
	}
	u1, a1 := ckptUpdate(t, "t1", "uuid-1", mesos.TaskState_TASK_RUNNING)
	u2, _ := ckptUpdate(t, "t2", "uuid-2", mesos.TaskState_TASK_RUNNING)
	for _, recs := range [][][]byte{{u1}, {u2, a1}} {
		if err := c.AppendUpdates(ckptAgentID, "fw", "ex", "c1", "", recs); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteTask(ckptAgentID, "fw", "ex", "c1", ckptTask("t3")); err != nil {
		t.Fatal(err)
	}
	if got, want := summary(t, c), "run=c1 pid=42 start=4242 t1:UA t2:U t3:"; got != want {
		t.Fatalf("read back %q, want %q", got, want)
	}
}

// An update the agent generates while the executor is still being launched (a kill) may
// reach the task log before the task itself.
func TestCheckpointUpdateBeforeTask(t *testing.T) {
	c := Store{WorkDir: t.TempDir()}
	u, _ := ckptUpdate(t, "t1", "uuid-1", mesos.TaskState_TASK_KILLED)
	if err := c.AppendUpdates(ckptAgentID, "fw", "ex", "c1", "t1", [][]byte{u}); err != nil {
		t.Fatal(err)
	}
	ckptStart(t, c, "t1")
	if got, want := summary(t, c), "run=c1 pid=0 start=0 t1:U"; got != want {
		t.Fatalf("read back %q, want %q", got, want)
	}
}

// Checkpoints written by earlier versions (sandbox file, a directory per task) are read.
func TestCheckpointReadsEarlierLayout(t *testing.T) {
	c := Store{WorkDir: t.TempDir()}
	ckptStart(t, c)
	run := c.RunDir(ckptAgentID, "fw", "ex", "c1")
	info, err := proto.Marshal(&mesos.ExecutorInfo{ExecutorId: &mesos.ExecutorID{Value: proto.String("ex")}, Command: &mesos.CommandInfo{Value: proto.String("x")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(run, RunLog)); err != nil {
		t.Fatal(err)
	}
	tdir := filepath.Join(run, "tasks", "t1")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	u, a := ckptUpdate(t, "t1", "uuid-1", mesos.TaskState_TASK_RUNNING)
	task, err := proto.Marshal(ckptTask("t1"))
	if err != nil {
		t.Fatal(err)
	}
	var updates []byte
	for _, r := range [][]byte{u, a} {
		updates = append(updates, []byte(strconv.Itoa(len(r))+"\n")...)
		updates = append(updates, r...)
	}
	for name, data := range map[string][]byte{
		filepath.Join(filepath.Dir(filepath.Dir(run)), "executor.info"): info,
		filepath.Join(run, "pids", "forked.start"):                      []byte("77\n"),
		filepath.Join(run, "sandbox"):                                   []byte("/elsewhere"),
		filepath.Join(run, "pids", "forked.pid"):                        []byte("7\n"),
		filepath.Join(tdir, "task.info"):                                task,
		filepath.Join(tdir, "task.updates"):                             updates,
	} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := summary(t, c), "run=c1 pid=7 start=77 sandbox=/elsewhere t1:UA"; got != want {
		t.Fatalf("read back %q, want %q", got, want)
	}
}

// A new run creates few files: every inode costs on a busy file system.
func TestCheckpointRunFiles(t *testing.T) {
	c := Store{WorkDir: t.TempDir()}
	ckptStart(t, c, "t1")
	if err := c.WritePID(ckptAgentID, "fw", "ex", "c1", 42, 4242, false); err != nil {
		t.Fatal(err)
	}
	var got []string
	root := c.ExecutorDir(ckptAgentID, "fw", "ex")
	err := filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		rel, _ := filepath.Rel(root, p)
		got = append(got, rel)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := ". runs runs/c1 runs/c1/pids runs/c1/pids/forked.pid runs/c1/run.log runs/latest"
	if strings.Join(got, " ") != want {
		t.Fatalf("files = %s\nwant %s", strings.Join(got, " "), want)
	}
}
