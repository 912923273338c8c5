package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/integration/dockertest"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// volumeScheduler hands the test its offers and records task and operation
// updates; the test decides what to accept.
type volumeScheduler struct {
	sdk.NoopHandler
	offers chan []*mesos.Offer

	mu       sync.Mutex
	states   map[string]mesos.TaskState
	messages map[string]string
}

func (v *volumeScheduler) Offers(_ context.Context, _ *sdk.Scheduler, offers []*mesos.Offer) {
	v.offers <- offers
}

func (v *volumeScheduler) Update(_ context.Context, _ *sdk.Scheduler, st *mesos.TaskStatus) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.states[st.GetTaskId().GetValue()] = st.GetState()
	v.messages[st.GetTaskId().GetValue()] = st.GetMessage()
}

func (v *volumeScheduler) state(id string) (mesos.TaskState, string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.states[id], v.messages[id]
}

func startVolumeScheduler(t *testing.T, c *cluster.Cluster) (*volumeScheduler, *sdk.Scheduler, func()) {
	t.Helper()
	cfg := sdk.DefaultConfig()
	cfg.Masters = []string{c.MasterFlag()}
	cfg.Framework = &mesos.FrameworkInfo{User: proto.String("root"), Name: proto.String("volumes"),
		Role: proto.String("web"), Principal: proto.String("ops")}
	cfg.BackoffMin, cfg.BackoffMax = 50*time.Millisecond, time.Second
	v := &volumeScheduler{offers: make(chan []*mesos.Offer, 16), states: map[string]mesos.TaskState{}, messages: map[string]string{}}
	s, err := sdk.NewScheduler(cfg, v, zaptest.NewLogger(t).Named("volumes"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return v, s, stop
}

// offerWith waits for an offer that holds want and returns it; other offers
// are declined for a moment.
func (v *volumeScheduler) offerWith(t *testing.T, s *sdk.Scheduler, want resources.Resources) *mesos.Offer {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case offers := <-v.offers:
			var found *mesos.Offer
			for _, o := range offers {
				have, err := resources.FromProto(stripAllocation(o.GetResources()))
				if err != nil {
					t.Fatal(err)
				}
				if found == nil && have.Contains(want) {
					found = o
					continue
				}
				_ = s.Decline(context.Background(), []*mesos.OfferID{o.GetId()}, 100*time.Millisecond)
			}
			if found != nil {
				return found
			}
		case <-deadline:
			t.Fatalf("no offer holds %s", want)
		}
	}
}

func stripAllocation(in []*mesos.Resource) []*mesos.Resource {
	out := make([]*mesos.Resource, len(in))
	for i, r := range in {
		r = proto.Clone(r).(*mesos.Resource)
		r.AllocationInfo = nil
		out[i] = r
	}
	return out
}

func (v *volumeScheduler) waitState(t *testing.T, id string, want mesos.TaskState) {
	t.Helper()
	poll.Eventually(t, 30*time.Second, func() error {
		if got, msg := v.state(id); got != want {
			return fmt.Errorf("task %s is %v (%q), want %v", id, got, msg, want)
		}
		return nil
	})
}

// TestReservedPersistentVolume: a framework reserves resources, creates a
// persistent volume and launches a task that writes into it in one ACCEPT;
// the task ends, a second task on the same reservation reads the file back;
// after a master restart (file registry) the reservation and the volume are
// still offered to the role.
func TestReservedPersistentVolume(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1, AgentResources: "cpus:4;mem:2048;disk:1000;ports:[31000-31100]"})
	v, s, stop := startVolumeScheduler(t, c)

	reserved := resources.MustParse("cpus:1;mem:256;disk:100").PushReservation(resources.Dynamic("web", "ops"))
	volR := resources.ScalarResource("disk", "", 64).PushReservation(resources.Dynamic("web", "ops"))
	volR.Volume = &resources.Volume{ID: "data-1", Principal: "ops", ContainerPath: "data"}
	vol := resources.Of(volR)
	taskRes := resources.MustParse("cpus:0.5;mem:64").PushReservation(resources.Dynamic("web", "ops")).Plus(vol)

	offer := v.offerWith(t, s, resources.MustParse("cpus:1;mem:256;disk:100"))
	writer := sdk.CommandTask("writer", "writer", "echo kept > data/f", taskRes)
	writer.AgentId = offer.GetAgentId()
	ops := []*mesos.Offer_Operation{
		{Type: mesos.Offer_Operation_RESERVE.Enum(), Reserve: &mesos.Offer_Operation_Reserve{Resources: reserved.ToProto()}},
		{Type: mesos.Offer_Operation_CREATE.Enum(), Create: &mesos.Offer_Operation_Create{Volumes: vol.ToProto()}},
		{Type: mesos.Offer_Operation_LAUNCH.Enum(), Launch: &mesos.Offer_Operation_Launch{TaskInfos: []*mesos.TaskInfo{writer}}},
	}
	if err := s.Accept(context.Background(), []*mesos.OfferID{offer.GetId()}, ops, &mesos.Filters{RefuseSeconds: proto.Float64(0)}); err != nil {
		t.Fatal(err)
	}
	v.waitState(t, "writer", mesos.TaskState_TASK_FINISHED)

	// The volume comes back in an offer; a task on it sees the file.
	offer = v.offerWith(t, s, taskRes)
	reader := sdk.CommandTask("reader", "reader", `test "$(cat data/f)" = kept`, taskRes)
	reader.AgentId = offer.GetAgentId()
	if err := s.Launch(context.Background(), offer.GetId(), reader); err != nil {
		t.Fatal(err)
	}
	v.waitState(t, "reader", mesos.TaskState_TASK_FINISHED)
	stop()

	// Master failover: the registry (file store) keeps the agent's converted
	// resources; the agent re-registers and the role is offered them again.
	c.Master.Stop()
	c.Master.Restart()
	poll.Eventually(t, 30*time.Second, func() error {
		n, err := c.ActiveAgents()
		if err != nil {
			return err
		}
		if n != 1 {
			return fmt.Errorf("%d active agents", n)
		}
		return nil
	})
	v2, s2, _ := startVolumeScheduler(t, c)
	want := resources.MustParse("cpus:1;mem:256;disk:36").PushReservation(resources.Dynamic("web", "ops")).Plus(vol)
	offer = v2.offerWith(t, s2, want)
	again := sdk.CommandTask("again", "again", `test "$(cat data/f)" = kept`, taskRes)
	again.AgentId = offer.GetAgentId()
	if err := s2.Launch(context.Background(), offer.GetId(), again); err != nil {
		t.Fatal(err)
	}
	v2.waitState(t, "again", mesos.TaskState_TASK_FINISHED)
}

// TestReservedPersistentVolumeDocker: a DOCKER task sees the persistent volume
// bind-mounted at its container path under /mnt/mesos/sandbox and writes into
// it; a process task on the same reservation reads what it wrote.
func TestReservedPersistentVolumeDocker(t *testing.T) {
	cli := hosttest.RequireDocker(t)
	image := dockertest.HelloImage(t, cli)
	id := "vol-" + dockertest.RandomID()
	dockertest.RemoveContainersOnCleanup(t, cli, docker.LabelTaskID, id)
	c := cluster.New(t, cluster.Options{Agents: 1, AgentResources: "cpus:4;mem:2048;disk:1000;ports:[31000-31100]"})
	v, s, _ := startVolumeScheduler(t, c)

	reserved := resources.MustParse("cpus:1;mem:256;disk:100").PushReservation(resources.Dynamic("web", "ops"))
	volR := resources.ScalarResource("disk", "", 64).PushReservation(resources.Dynamic("web", "ops"))
	volR.Volume = &resources.Volume{ID: "data-1", Principal: "ops", ContainerPath: "data"}
	vol := resources.Of(volR)
	taskRes := resources.MustParse("cpus:0.5;mem:64").PushReservation(resources.Dynamic("web", "ops")).Plus(vol)

	offer := v.offerWith(t, s, resources.MustParse("cpus:1;mem:256;disk:100"))
	writer := &mesos.TaskInfo{
		Name: proto.String(id), TaskId: &mesos.TaskID{Value: proto.String(id)}, AgentId: offer.GetAgentId(),
		Resources: taskRes.ToProto(),
		Command:   &mesos.CommandInfo{Shell: proto.Bool(false), Arguments: []string{"-touch", "/mnt/mesos/sandbox/data/f", "-exit", "0"}},
		Container: &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(), Docker: &mesos.ContainerInfo_DockerInfo{
			Image: proto.String(image), Network: mesos.ContainerInfo_DockerInfo_HOST.Enum(),
		}},
	}
	ops := []*mesos.Offer_Operation{
		{Type: mesos.Offer_Operation_RESERVE.Enum(), Reserve: &mesos.Offer_Operation_Reserve{Resources: reserved.ToProto()}},
		{Type: mesos.Offer_Operation_CREATE.Enum(), Create: &mesos.Offer_Operation_Create{Volumes: vol.ToProto()}},
		{Type: mesos.Offer_Operation_LAUNCH.Enum(), Launch: &mesos.Offer_Operation_Launch{TaskInfos: []*mesos.TaskInfo{writer}}},
	}
	if err := s.Accept(context.Background(), []*mesos.OfferID{offer.GetId()}, ops, &mesos.Filters{RefuseSeconds: proto.Float64(0)}); err != nil {
		t.Fatal(err)
	}
	v.waitState(t, id, mesos.TaskState_TASK_FINISHED)

	offer = v.offerWith(t, s, taskRes)
	reader := sdk.CommandTask("reader", "reader", `test "$(cat data/f)" = hello`, taskRes)
	reader.AgentId = offer.GetAgentId()
	if err := s.Launch(context.Background(), offer.GetId(), reader); err != nil {
		t.Fatal(err)
	}
	v.waitState(t, "reader", mesos.TaskState_TASK_FINISHED)
}
