package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/agoracluster/agora/agent/volumes"
	"github.com/agoracluster/agora/internal/poll"
	agorapb "github.com/agoracluster/agora/proto/agora/v1"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

func checkpointEvent(r resources.Resources) *agorapb.AgentEvent {
	return &agorapb.AgentEvent{Type: agorapb.AgentEvent_CHECKPOINT_RESOURCES.Enum(),
		CheckpointResources: &agorapb.AgentEvent_CheckpointResources{Resources: r.ToProto()}}
}

// The master's checkpoint creates the volume, a task writes into it at its
// container path, the next task reads it back, the agent restarts with the
// reservation and volume in its resources, and DESTROY removes the data.
func TestPersistentVolumeOnAgent(t *testing.T) {
	fm := newFakeMaster(t)
	cfg := testConfig(t, fm.addr())
	cfg.ExecutorHost = true
	run, addrOf := restartable(t, cfg)

	_, stop := run(true)
	waitSubscribed(t, fm, 1)
	volR := resources.ScalarResource("disk", "", 64).PushReservation(resources.Dynamic("web", "ops"))
	volR.Volume = &resources.Volume{ID: "v1", ContainerPath: "data"}
	vol := resources.Of(volR)
	ckpt := resources.MustParse("cpus:0.5;disk:36").PushReservation(resources.Dynamic("web", "ops")).Plus(vol)
	fm.send(checkpointEvent(ckpt))
	dir := volumes.Path(cfg.WorkDir, "web", "v1")
	poll.Eventually(t, 10*time.Second, func() bool { _, err := os.Stat(dir); return err == nil }, "volume directory %s not created", dir)

	writer := gpuTask("writer", "echo kept > data/f", "cpus:0.1;mem:32")
	writer.Resources = append(writer.Resources, vol.ToProto()...)
	fm.send(runTask("fw-1", writer))
	fm.waitState(t, "writer", mesos.TaskState_TASK_FINISHED)
	if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "kept\n" {
		t.Fatalf("volume file = %q, %v", b, err)
	}
	reader := gpuTask("reader", "cat data/f", "cpus:0.1;mem:32")
	reader.Resources = append(reader.Resources, vol.ToProto()...)
	fm.send(runTask("fw-1", reader))
	fm.waitState(t, "reader", mesos.TaskState_TASK_FINISHED)
	if out := taskStdout(t, &testAgent{url: "http://" + addrOf()}, "reader"); !strings.Contains(out, "kept") {
		t.Fatalf("reader saw %q", out)
	}
	stop()

	// After a restart the agent reports its flags' resources with the
	// reservation and the volume in place of what they were made from.
	_, _ = run(true)
	waitSubscribed(t, fm, 2)
	subs := fm.subscriptions()
	got, err := resources.FromProto(subs[len(subs)-1].GetSubscribe().GetAgentInfo().GetResources())
	if err != nil {
		t.Fatal(err)
	}
	want, err := resources.ApplyCheckpointed(resources.MustParse(cfg.Resources), ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Fatalf("resources after restart = %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "f")); err != nil {
		t.Fatalf("volume data after restart: %v", err)
	}

	// DESTROY: the checkpoint without the volume removes its directory.
	fm.send(checkpointEvent(ckpt.WithoutVolumes()))
	poll.Eventually(t, 10*time.Second, func() bool { _, err := os.Stat(dir); return os.IsNotExist(err) }, "volume directory %s not removed", dir)
}

// An agent whose flags cannot hold its checkpointed reservations refuses to
// start, naming the file.
func TestCheckpointedResourcesMustFitFlags(t *testing.T) {
	cfg := testConfig(t, "127.0.0.1:1")
	a, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	big := resources.MustParse("disk:5000").PushReservation(resources.Dynamic("web", "ops"))
	if err := a.ckpt.WriteResources(big.ToProto()); err != nil {
		t.Fatal(err)
	}
	err = a.Run(t.Context(), listen(t))
	if err == nil || !strings.Contains(err.Error(), "resources.info do not fit --resources") {
		t.Fatalf("Run = %v, want the checkpoint not fitting --resources", err)
	}
}
