package integration

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/zookeeper/zktest"
)

var faultRounds = flag.Int("agora.fault.rounds", 4, "TestHAFaultCampaign: faults injected (make bench runs a longer campaign)")

// fault is one failure the campaign injects and the way it is repaired.
type fault struct {
	name   string
	inject func(t *testing.T, fc *faultCluster) (repair func())
}

// faultCluster is the campaign's cluster: three masters, each reaching ZooKeeper through a
// proxy of its own, two agents and a framework with tasks.
type faultCluster struct {
	*cluster.Cluster
	proxies []*zktest.Proxy
	rng     *rand.Rand
}

func (fc *faultCluster) leader(t *testing.T) (*cluster.Process, int) {
	t.Helper()
	var p *cluster.Process
	poll.Eventually(t, 60*time.Second, func() error {
		var err error
		p, err = fc.Leader()
		return err
	}, "a leading master")
	return p, slices.Index(fc.Masters, p)
}

var faults = []fault{
	{"SIGKILL the leading master", func(t *testing.T, fc *faultCluster) func() {
		p, _ := fc.leader(t)
		p.Signal(syscall.SIGKILL)
		return func() { p.Wait(10 * time.Second); p.Restart() }
	}},
	{"SIGTERM the leading master", func(t *testing.T, fc *faultCluster) func() {
		p, _ := fc.leader(t)
		p.Signal(syscall.SIGTERM)
		return func() { p.Wait(10 * time.Second); p.Restart() }
	}},
	{"cut the leading master off ZooKeeper", func(t *testing.T, fc *faultCluster) func() {
		_, i := fc.leader(t)
		fc.proxies[i].Cut()
		return fc.proxies[i].Heal
	}},
	{"SIGKILL a standby master", func(t *testing.T, fc *faultCluster) func() {
		_, li := fc.leader(t)
		i := (li + 1 + fc.rng.IntN(len(fc.Masters)-1)) % len(fc.Masters)
		p := fc.Masters[i]
		p.Signal(syscall.SIGKILL)
		return func() { p.Wait(10 * time.Second); p.Restart() }
	}},
	{"SIGKILL an agent (it recovers its executors)", func(t *testing.T, fc *faultCluster) func() {
		a := fc.Agents[fc.rng.IntN(len(fc.Agents))]
		a.Signal(syscall.SIGKILL)
		a.Wait(10 * time.Second)
		a.Restart()
		return func() {}
	}},
}

// TestHAFaultCampaign injects -agora.fault.rounds faults chosen at random (seed
// AGORA_FAULT_SEED, else the time, logged) into a running HA cluster and checks the
// invariants after each: at most one master leads at any moment, one leads again, every
// agent and the framework come back to it, every task runs on in the same process with no
// status but STAGING/STARTING/RUNNING, and a new task launches.
func TestHAFaultCampaign(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("AGORA_FAULT_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("AGORA_FAULT_SEED %q: %v", s, err)
		}
		seed = v
	}
	t.Logf("fault campaign seed %d (AGORA_FAULT_SEED=%d replays it)", seed, seed)
	zk := cluster.StartZooKeeper(t)
	fc := &faultCluster{rng: rand.New(rand.NewPCG(seed, 0))}
	for range 3 {
		fc.proxies = append(fc.proxies, zktest.NewProxy(t, zk.Addr()))
	}
	fc.Cluster = cluster.New(t, cluster.Options{ZooKeeper: zk.URL("/agora"), Masters: 3, Agents: 2,
		MasterZooKeeper: func(i int) string { return fc.proxies[i].URL("/agora") }})
	fw := fc.StartFramework(cluster.FrameworkOptions{Name: "campaign", FailoverTimeout: 600})
	ctx := context.Background()
	tasks := []string{"fc-0", "fc-1", "fc-2"}
	pids := map[string]int{}
	for _, id := range tasks {
		fw.Launch(ctx, pidTask(id, "exec sleep 3600"))
	}
	for _, id := range tasks {
		fw.WaitState(id, mesos.TaskState_TASK_RUNNING, 60*time.Second)
		pids[id] = taskPIDAnywhere(t, fc.Cluster, id)
	}

	for round := range *faultRounds {
		f := faults[fc.rng.IntN(len(faults))]
		t.Logf("round %d: %s", round, f.name)
		repair := f.inject(t, fc)
		fc.waitRecovered(t, fw, tasks)
		checkNotRelaunched(t, fw, pids)
		repair()
		fc.waitRecovered(t, fw, tasks)
		if t.Failed() {
			t.Fatalf("round %d (%s) broke an invariant; replay with AGORA_FAULT_SEED=%d", round, f.name, seed)
		}
	}
	fw.Launch(ctx, pidTask("fc-after", "exec sleep 3600"))
	fw.WaitState("fc-after", mesos.TaskState_TASK_RUNNING, 60*time.Second)
}

// waitRecovered waits until one master leads with every agent, the framework and its
// tasks back (the leader found afresh at each check: a fault may still be unseating it).
func (fc *faultCluster) waitRecovered(t *testing.T, fw *cluster.Framework, tasks []string) {
	t.Helper()
	poll.Eventually(t, 3*cluster.HASessionTimeout+10*time.Second, func() error {
		_, err := fc.oneLeader(t)
		return err
	}, "one leading master")
	waitAllBackTo(t, fc.Cluster, fw, tasks, func() (*cluster.Process, error) { return fc.oneLeader(t) })
}

// oneLeader returns the one master that leads, failing the test if two ever do at once.
func (fc *faultCluster) oneLeader(t *testing.T) (*cluster.Process, error) {
	t.Helper()
	var leaders []*cluster.Process
	for _, p := range fc.Masters {
		var st leaderState
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := cluster.GetJSON(ctx, "http://"+p.Addr+"/state", &st)
		cancel()
		if err == nil && st.Elected {
			leaders = append(leaders, p)
		}
	}
	if len(leaders) > 1 {
		t.Errorf("%d masters lead at once", len(leaders))
	}
	if len(leaders) != 1 {
		return nil, fmt.Errorf("%d masters lead", len(leaders))
	}
	return leaders[0], nil
}
