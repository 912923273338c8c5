package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/swarm"
	dockerclient "github.com/docker/docker/client"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/agent/docker"
	"github.com/agoracluster/agora/integration/benchtest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/integration/dockertest"
	"github.com/agoracluster/agora/internal/hosttest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Container benchmarks (`make bench`, scripts/bench.sh):
//
//	BenchmarkDockerVsSwarm   -agora.dockertasks DOCKER tasks of the locally built hello image
//	                         on one agent (ACCEPT -> all TASK_RUNNING; KILL -> all TASK_KILLED
//	                         and -> every container gone), side by side with
//	                         `docker service create --replicas N` of the same image on a
//	                         single-node swarm of the same engine (create -> all tasks
//	                         running; `service rm` -> every container gone).
//	BenchmarkLaunchCgroups   -agora.tasks `sleep` tasks, each executor in its own cgroup with
//	                         CPU (shares and CFS quota) and memory limits: ACCEPT -> all
//	                         TASK_RUNNING, KILL -> all TASK_KILLED.
//
// The Docker benchmark leaves the engine as it found it: it initialises a swarm only when the
// engine is in none (listening and advertising on loopback only) and then leaves it, removes
// the networks that swarm mode created, and removes its service, containers and image. An
// engine that refuses swarm mode is reported as such, with the Agora figures still measured.
var benchDockerTasks = flag.Int("agora.dockertasks", 100, "BenchmarkDockerVsSwarm: containers launched at once")

const (
	benchDockerTaskMem = 32 // MiB per container, on both sides
	benchPoll          = 20 * time.Millisecond
)

func dockerBenchTask(id, image string) *mesos.TaskInfo {
	return &mesos.TaskInfo{
		Name:      proto.String(id),
		TaskId:    &mesos.TaskID{Value: proto.String(id)},
		Resources: resources.MustParse(fmt.Sprintf("cpus:0.01;mem:%d", benchDockerTaskMem)).ToProto(),
		Command:   &mesos.CommandInfo{Shell: proto.Bool(false)}, // the image's entrypoint: the hello server
		Container: &mesos.ContainerInfo{
			Type: mesos.ContainerInfo_DOCKER.Enum(),
			Docker: &mesos.ContainerInfo_DockerInfo{
				Image:   proto.String(image),
				Network: mesos.ContainerInfo_DockerInfo_BRIDGE.Enum(),
			},
		},
	}
}

// countContainers counts the containers (running or not) matching label (key or key=value)
// whose label key starts with prefix ("" for any).
func countContainers(ctx context.Context, cli dockerclient.APIClient, label, key, prefix string) (int, error) {
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", label))})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cs {
		if strings.HasPrefix(c.Labels[key], prefix) {
			n++
		}
	}
	return n, nil
}

// waitFor polls cond until it returns true and returns when that was, or fails the
// benchmark after benchWait.
func waitFor(b *testing.B, what string, cond func(ctx context.Context) (bool, error)) time.Time {
	b.Helper()
	deadline := time.Now().Add(benchWait)
	tick := time.NewTicker(benchPoll)
	defer tick.Stop()
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ok, err := cond(ctx)
		cancel()
		if ok {
			return time.Now()
		}
		last = err
		<-tick.C
	}
	b.Fatalf("%s: not within %v (last error: %v)", what, benchWait, last)
	return time.Time{}
}

// waitReached waits until every task of ids has reached state at some point (a later
// TASK_LOST from the master's reconciliation of a repeated KILL does not undo a kill) and
// returns the last of those moments.
func waitReached(b *testing.B, s *benchtest.Scheduler, ids []string, state mesos.TaskState) time.Time {
	b.Helper()
	var last time.Time
	waitFor(b, "all tasks "+state.String(), func(context.Context) (bool, error) {
		last = time.Time{}
		for _, id := range ids {
			at, ok := s.Reached(id, state)
			if !ok {
				return false, fmt.Errorf("task %s has not reached %v", id, state)
			}
			if at.After(last) {
				last = at
			}
		}
		return true, nil
	})
	return last
}

// removeBenchContainersOnCleanup removes, at the end, every Agora container whose task id
// starts with prefix (none are left when the kill worked).
func removeBenchContainersOnCleanup(b *testing.B, cli dockerclient.APIClient, prefix string) {
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", docker.LabelTaskID))})
		if err != nil {
			b.Errorf("list bench containers: %v", err)
			return
		}
		for _, c := range cs {
			if strings.HasPrefix(c.Labels[docker.LabelTaskID], prefix) {
				if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !dockerclient.IsErrNotFound(err) {
					b.Errorf("remove bench container %s: %v", c.ID, err)
				}
			}
		}
	})
}

// benchSwarm makes the engine a swarm manager for the benchmark: it uses an existing swarm
// as it is, or initialises a single-node one on loopback and leaves it (and removes the
// networks swarm mode created) when the benchmark ends. It returns why swarm mode is not
// usable, or "".
func benchSwarm(b *testing.B, cli *dockerclient.Client) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	info, err := cli.Info(ctx)
	if err != nil {
		return "docker info: " + err.Error()
	}
	switch info.Swarm.LocalNodeState {
	case swarm.LocalNodeStateActive:
		if !info.Swarm.ControlAvailable {
			return "the engine is a swarm worker, not a manager: cannot create services"
		}
		b.Logf("swarm: using the engine's existing swarm (node %s); only the benchmark's service is removed", info.Swarm.NodeID)
		return ""
	case swarm.LocalNodeStateInactive:
	default:
		return fmt.Sprintf("the engine's swarm state is %q", info.Swarm.LocalNodeState)
	}
	before, err := cli.NetworkList(ctx, network.ListOptions{})
	if err != nil {
		return "list networks: " + err.Error()
	}
	had := map[string]bool{}
	for _, n := range before {
		had[n.Name] = true
	}
	port := cluster.FreePort(b)
	_, err = cli.SwarmInit(ctx, swarm.InitRequest{
		ListenAddr:    "127.0.0.1:" + strconv.Itoa(port),
		AdvertiseAddr: "127.0.0.1",
		DataPathAddr:  "127.0.0.1",
	})
	if err != nil {
		return "swarm init --advertise-addr 127.0.0.1 refused: " + err.Error()
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := cli.SwarmLeave(ctx, true); err != nil {
			b.Errorf("swarm leave --force: %v", err)
			return
		}
		after, err := cli.NetworkList(ctx, network.ListOptions{})
		if err != nil {
			b.Errorf("list networks: %v", err)
			return
		}
		for _, n := range after {
			if !had[n.Name] && (n.Name == "docker_gwbridge" || n.Name == "ingress") {
				if err := cli.NetworkRemove(ctx, n.ID); err != nil && !dockerclient.IsErrNotFound(err) {
					b.Errorf("remove network %s created by swarm mode: %v", n.Name, err)
				}
			}
		}
	})
	return ""
}

// BenchmarkDockerVsSwarm: see the top of the file.
func BenchmarkDockerVsSwarm(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	if *benchInProcess {
		b.Skip("needs the agent as its own process")
	}
	cli := hosttest.RequireDocker(b)
	image := dockertest.HelloImage(b, cli)
	n := *benchDockerTasks
	c := startBenchCluster(b)
	s := benchtest.StartScheduler(b, c.masterAddr, benchtest.Options{Name: "bench-docker"})
	prefix := "dock-" + dockertest.RandomID()
	removeBenchContainersOnCleanup(b, cli, prefix)

	var running, killed, gone, swarmRunning, swarmGone time.Duration
	swarmRefused := ""
	b.ResetTimer()
	for round := range b.N {
		ids := make([]string, n)
		tasks := make([]*mesos.TaskInfo, n)
		for i := range n {
			ids[i] = fmt.Sprintf("%s-%d-%03d", prefix, round, i)
			tasks[i] = dockerBenchTask(ids[i], image)
		}
		if err := s.Launch(context.Background(), tasks...); err != nil {
			b.Fatal(err)
		}
		lastRunning, err := s.WaitAll(ids, mesos.TaskState_TASK_RUNNING, benchWait)
		if err != nil {
			b.Fatal(err)
		}
		_, acceptAt := s.Batch()
		running += lastRunning.Sub(acceptAt)
		b.Logf("agora: TASK_RUNNING after ACCEPT: %s", s.Timeline(ids, mesos.TaskState_TASK_RUNNING, acceptAt, 0.1, 0.5, 0.9, 1))
		roundPrefix := fmt.Sprintf("%s-%d-", prefix, round)
		killStart, err := s.KillAll(context.Background(), ids, 16)
		if err != nil {
			b.Fatal(err)
		}
		lastKilled := waitReached(b, s, ids, mesos.TaskState_TASK_KILLED)
		allGone := waitFor(b, "agora containers removed", func(ctx context.Context) (bool, error) {
			left, err := countContainers(ctx, cli, docker.LabelTaskID, docker.LabelTaskID, roundPrefix)
			return err == nil && left == 0, err
		})
		killed += lastKilled.Sub(killStart)
		gone += allGone.Sub(killStart)

		if round == 0 {
			swarmRefused = benchSwarm(b, cli)
			if swarmRefused != "" {
				b.Logf("SWARM-REFUSED: %s", swarmRefused)
			}
		}
		if swarmRefused != "" {
			continue
		}
		r, g := benchSwarmService(b, cli, image, n, fmt.Sprintf("agora-bench-%s-%d", dockertest.RandomID(), round))
		swarmRunning += r
		swarmGone += g
	}
	b.StopTimer()
	rounds := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "containers")
	b.ReportMetric(running.Seconds()/rounds, "agora-running-s")
	b.ReportMetric(killed.Seconds()/rounds, "agora-killed-s")
	b.ReportMetric(gone.Seconds()/rounds, "agora-gone-s")
	if swarmRefused == "" {
		b.ReportMetric(1, "swarm-ok")
		b.ReportMetric(swarmRunning.Seconds()/rounds, "swarm-running-s")
		b.ReportMetric(swarmGone.Seconds()/rounds, "swarm-gone-s")
	} else {
		b.ReportMetric(0, "swarm-ok")
	}
}

// benchSwarmService creates a service of n replicas of image (no registry lookup: the image
// is local), waits until every task runs, removes the service and waits until its
// containers are gone. It returns both durations.
func benchSwarmService(b *testing.B, cli *dockerclient.Client, image string, n int, name string) (running, gone time.Duration) {
	b.Helper()
	replicas := uint64(n)
	spec := swarm.ServiceSpec{
		Annotations: swarm.Annotations{Name: name, Labels: map[string]string{"agora.bench": "swarm"}},
		TaskTemplate: swarm.TaskSpec{
			ContainerSpec: &swarm.ContainerSpec{Image: image},
			Resources:     &swarm.ResourceRequirements{Limits: &swarm.Limit{MemoryBytes: benchDockerTaskMem << 20}},
		},
		Mode: swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &replicas}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	created, err := cli.ServiceCreate(ctx, spec, swarm.ServiceCreateOptions{QueryRegistry: false}) // --no-resolve-image
	if err != nil {
		b.Fatalf("docker service create: %v", err)
	}
	removed := false
	remove := func() error {
		if removed {
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := cli.ServiceRemove(ctx, created.ID); err != nil && !dockerclient.IsErrNotFound(err) {
			return err
		}
		removed = true
		return nil
	}
	b.Cleanup(func() {
		if err := remove(); err != nil {
			b.Errorf("docker service rm %s: %v", name, err)
		}
	})
	serviceFilter := filters.NewArgs(filters.Arg("service", created.ID))
	allRunning := waitFor(b, "swarm tasks running", func(ctx context.Context) (bool, error) {
		ts, err := cli.TaskList(ctx, swarm.TaskListOptions{Filters: serviceFilter})
		if err != nil {
			return false, err
		}
		up := 0
		for _, t := range ts {
			if t.DesiredState == swarm.TaskStateRunning && t.Status.State == swarm.TaskStateRunning {
				up++
			}
			if t.Status.State == swarm.TaskStateRejected || t.Status.State == swarm.TaskStateFailed {
				return false, fmt.Errorf("swarm task %s: %s %s", t.ID, t.Status.State, t.Status.Err)
			}
		}
		return up == n, fmt.Errorf("%d of %d swarm tasks running", up, n)
	})
	running = allRunning.Sub(start)
	rmStart := time.Now()
	if err := remove(); err != nil {
		b.Fatalf("docker service rm: %v", err)
	}
	label := "com.docker.swarm.service.id=" + created.ID
	allGone := waitFor(b, "swarm containers removed", func(ctx context.Context) (bool, error) {
		left, err := countContainers(ctx, cli, label, "", "")
		return err == nil && left == 0, fmt.Errorf("%d containers left (%v)", left, err)
	})
	return running, allGone.Sub(rmStart)
}

// BenchmarkLaunchCgroups: see the top of the file.
func BenchmarkLaunchCgroups(b *testing.B) {
	if testing.Short() {
		b.Skip("end-to-end benchmark; run it with make bench")
	}
	hosttest.RequireCgroups(b)
	root := "agora-bench-" + dockertest.RandomID()
	b.Cleanup(func() { cluster.RemoveCgroupRoot(b, root) }) // runs after the agent stopped
	level := []string{"--logging_level", *benchLogLevel}
	cl := cluster.New(b, cluster.Options{Agents: 1, AgentResources: benchAgentResources, MasterArgs: level,
		AgentArgs: append(level, "--isolation", "cgroups/cpu,cgroups/mem", "--cgroups_enable_cfs", "--cgroups_root", root)})
	if out := cl.Agents[0].Output(); !strings.Contains(out, "cgroup isolation enabled") {
		b.Fatalf("the agent runs without cgroup isolation:\n%s", out)
	}
	s := benchtest.StartScheduler(b, cl.Master.Addr, benchtest.Options{Name: "bench-cgroups"})
	n := *benchTasks
	var running, kill time.Duration
	var cgroupsSeen int
	b.ResetTimer()
	for round := range b.N {
		ids, tasks := sleepTasks(fmt.Sprintf("cg%d", round), n)
		if err := s.Launch(context.Background(), tasks...); err != nil {
			b.Fatal(err)
		}
		lastRunning, err := s.WaitAll(ids, mesos.TaskState_TASK_RUNNING, benchWait)
		if err != nil {
			b.Fatal(err)
		}
		_, acceptAt := s.Batch()
		running += lastRunning.Sub(acceptAt)
		b.Logf("cgroups: TASK_RUNNING after ACCEPT: %s", s.Timeline(ids, mesos.TaskState_TASK_RUNNING, acceptAt, 0.1, 0.5, 0.9, 1))
		b.StopTimer()
		cgroupsSeen, err = countLimitedCgroups(root)
		if err != nil {
			b.Fatal(err)
		}
		if cgroupsSeen != n {
			b.Fatalf("found %d memory-limited cgroups under %s, want %d", cgroupsSeen, root, n)
		}
		b.StartTimer()
		kill += killAndWait(b, s, ids)
	}
	b.StopTimer()
	rounds := float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(n), "tasks")
	b.ReportMetric(float64(cgroupsSeen), "cgroups")
	b.ReportMetric(running.Seconds()/rounds, "running-s")
	b.ReportMetric(kill.Seconds()/rounds, "killed-s")
}

// countLimitedCgroups counts the container cgroups under root that have a memory limit.
func countLimitedCgroups(root string) (int, error) {
	memDir := filepath.Join("/sys/fs/cgroup", root)
	limitFile := "memory.max"
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
		memDir = filepath.Join("/sys/fs/cgroup", "memory", root)
		limitFile = "memory.limit_in_bytes"
	}
	ents, err := os.ReadDir(memDir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		v, err := os.ReadFile(filepath.Join(memDir, e.Name(), limitFile))
		if err != nil {
			continue
		}
		limit, err := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
		if err == nil && limit < 1<<40 {
			n++
		}
	}
	return n, nil
}
