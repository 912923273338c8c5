package agent

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/checkpoint"
	"github.com/agoracluster/agora/agent/clock"
	"github.com/agoracluster/agora/agent/gc"
	"github.com/agoracluster/agora/agent/stateapi"
	"github.com/agoracluster/agora/agent/workload"
	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func filesStatus(t *testing.T, base, path string) int {
	t.Helper()
	resp, err := http.Get(base + "/files/browse?path=" + url.QueryEscape(path))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestGCRemovesFinishedSandboxes: with a short gc_delay the sandbox and checkpoints of a
// finished executor disappear while a running executor's stay; once the framework's last
// executor is gone its directories go too; /state and /files keep answering.
func TestGCRemovesFinishedSandboxes(t *testing.T) {
	fm := newFakeMaster(t)
	ta := startAgent(t, fm.addr(), func(c *Config) {
		c.GCDelay = 200 * time.Millisecond
		c.GCDiskHeadroom = 0
		c.DiskWatchInterval = 50 * time.Millisecond
	})
	waitSubscribed(t, fm, 1)
	fm.send(runTask("fw-1", commandTask("running", "run")))
	fm.waitState(t, "running", mesos.TaskState_TASK_RUNNING)
	fm.send(runTask("fw-1", commandTask("done", "finish")))
	fm.waitState(t, "done", mesos.TaskState_TASK_FINISHED)

	var done, running stateapi.ExecutorState
	poll.Eventually(t, 20*time.Second, func() bool {
		st := getState(t, ta.url)
		if len(st.Frameworks) != 1 || len(st.Frameworks[0].CompletedExecutors) != 1 || len(st.Frameworks[0].Executors) != 1 {
			return false
		}
		done, running = st.Frameworks[0].CompletedExecutors[0], st.Frameworks[0].Executors[0]
		return true
	}, "the finished executor is not completed in /state")
	ckpt := ta.a.ckpt
	doneMeta := ckpt.ExecutorDir(testAgentID, "fw-1", "done")
	runningMeta := ckpt.RunDir(testAgentID, "fw-1", "running", running.Container)
	poll.Eventually(t, 10*time.Second, func() bool {
		return !exists(done.Directory) && !exists(filepath.Dir(filepath.Dir(done.Directory))) && !exists(doneMeta)
	}, "the finished executor's sandbox %s or checkpoints %s were not collected", done.Directory, doneMeta)
	if !exists(running.Directory) || !exists(runningMeta) {
		t.Fatalf("the running executor's sandbox %s or checkpoints %s were collected", running.Directory, runningMeta)
	}
	// /state still lists the collected executor; /files answers 404 for its sandbox and
	// serves the running one.
	st := getState(t, ta.url)
	if len(st.Frameworks) != 1 || len(st.Frameworks[0].CompletedExecutors) != 1 {
		t.Fatalf("state after collection = %+v", st)
	}
	if code := filesStatus(t, ta.url, done.Directory); code != http.StatusNotFound {
		t.Errorf("/files/browse of a collected sandbox = %d, want 404", code)
	}
	if code := filesStatus(t, ta.url, running.Directory); code != http.StatusOK {
		t.Errorf("/files/browse of a running sandbox = %d, want 200", code)
	}

	// The framework's last task ends: its directories go too.
	fm.send(&agorapb.AgentEvent{Type: agorapb.AgentEvent_KILL_TASK.Enum(), KillTask: &agorapb.AgentEvent_KillTask{
		FrameworkId: &mesos.FrameworkID{Value: proto.String("fw-1")}, TaskId: &mesos.TaskID{Value: proto.String("running")}}})
	fm.waitState(t, "running", mesos.TaskState_TASK_KILLED)
	fwSandbox := filepath.Join(ta.cfg.WorkDir, "slaves", testAgentID, "frameworks", "fw-1")
	fwMeta := ckpt.FrameworkDir(testAgentID, "fw-1")
	poll.Eventually(t, 20*time.Second, func() bool { return !exists(fwSandbox) && !exists(fwMeta) },
		"the removed framework's directories %s, %s were not collected", fwSandbox, fwMeta)
	if !exists(filepath.Join(ckpt.AgentDir(testAgentID), "slave.info")) {
		t.Fatal("the agent's own checkpoint was collected")
	}
	if len(getState(t, ta.url).CompletedFrameworks) != 1 {
		t.Fatal("/state lost the completed framework")
	}
}

// TestGCScanWorkDir: at start, what earlier runs left and nothing recovered uses is
// scheduled; what the recovered executors use is not.
func TestGCScanWorkDir(t *testing.T) {
	work := t.TempDir()
	mk := func(parts ...string) string {
		p := filepath.Join(append([]string{work}, parts...)...)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sb := func(aid, fid, eid, cid string) string {
		return mk("slaves", aid, "frameworks", fid, "executors", eid, "runs", cid)
	}
	meta := func(aid, fid, eid, cid string) string {
		return mk("meta", "slaves", aid, "frameworks", fid, "executors", eid, "runs", cid)
	}
	liveSandbox := sb("A", "F", "E", "C")
	meta("A", "F", "E", "C")
	sb("A", "F", "E", "OLDRUN")
	meta("A", "F", "E", "OLDRUN")
	sb("A", "F", "DONE", "C2")
	meta("A", "F", "DONE", "C2")
	sb("A", "GONE", "E3", "C3")
	meta("A", "GONE", "E3", "C3")
	sb("OLD", "F", "E", "C0")
	meta("OLD", "F", "E", "C0")
	if err := os.Symlink("A", filepath.Join(work, "meta", "slaves", "latest")); err != nil {
		t.Fatal(err)
	}

	a := &Agent{cfg: Config{WorkDir: work}, log: zaptest.NewLogger(t), ckpt: checkpoint.Store{WorkDir: work}}
	a.st.AgentID = "A"
	fw := &workload.Framework{ID: "F", Executors: map[string]*workload.Executor{}}
	fw.Executors["E"] = &workload.Executor{Framework: fw, ID: "E", ContainerID: "C", Sandbox: liveSandbox}
	a.st.Frameworks = map[string]*workload.Framework{"F": fw}
	a.gc = &sandboxGC{a: a, c: gc.NewCollector(gc.Policy{Delay: time.Hour, DiskWatch: time.Minute}, clock.Real{}, a.log, nil, nil, nil)}
	a.gc.scanWorkDir()

	var got []string
	for _, p := range a.gc.c.Scheduled() {
		rel, _ := filepath.Rel(work, p)
		got = append(got, rel)
	}
	want := []string{
		"meta/slaves/A/frameworks/F/executors/DONE",
		"meta/slaves/A/frameworks/F/executors/E/runs/OLDRUN",
		"meta/slaves/A/frameworks/GONE",
		"meta/slaves/OLD",
		"slaves/A/frameworks/F/executors/DONE",
		"slaves/A/frameworks/F/executors/E/runs/OLDRUN",
		"slaves/A/frameworks/GONE",
		"slaves/OLD",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("scheduled\n%v\nwant\n%v", got, want)
	}
	// The claim on the loop leaves the live executor's directories alone even when asked.
	claimed := a.gc.claimLoop([]gc.Candidate{{Paths: []string{
		filepath.Join(work, "slaves", "A", "frameworks", "F", "executors", "E"),
		filepath.Join(work, "slaves", "OLD"),
	}}})
	if len(claimed) != 1 || !exists(liveSandbox) || exists(filepath.Join(work, "slaves", "OLD")) {
		t.Fatalf("claimed %v; live sandbox kept: %v", claimed, exists(liveSandbox))
	}
}
