package isolation

import (
	"testing"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/agent/cgroups"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

func TestLimitsOf(t *testing.T) {
	task := func(r string) *mesos.TaskInfo { return &mesos.TaskInfo{Resources: resources.MustParse(r).ToProto()} }
	executor := &mesos.ExecutorInfo{Resources: resources.MustParse("cpus:0.5;mem:64").ToProto()}
	tests := []struct {
		name    string
		info    *mesos.ExecutorInfo
		tasks   []*mesos.TaskInfo
		command bool
		want    cgroups.Limits
	}{
		{"command task: the task plus the executor overhead", &mesos.ExecutorInfo{}, []*mesos.TaskInfo{task("cpus:1;mem:128")}, true,
			cgroups.Limits{CPUs: 1.1, MemoryBytes: 160 << 20}},
		{"custom executor: its own and its tasks' resources plus the overhead", executor, []*mesos.TaskInfo{task("cpus:1;mem:128"), task("cpus:2;mem:32")}, false,
			cgroups.Limits{CPUs: 3.6, MemoryBytes: (64 + 128 + 32 + 32) << 20}},
		{"nothing asked: no limits", &mesos.ExecutorInfo{}, nil, false, cgroups.Limits{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LimitsOf(tt.info, tt.tasks, tt.command)
			if got.MemoryBytes != tt.want.MemoryBytes || got.CPUs < tt.want.CPUs-1e-9 || got.CPUs > tt.want.CPUs+1e-9 {
				t.Fatalf("LimitsOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNilIsolatorDoesNothing(t *testing.T) {
	var i *Isolator // cgroups disabled or unusable
	if err := i.Prepare("c", cgroups.Limits{CPUs: 1}); err != nil {
		t.Fatal(err)
	}
	if err := i.Isolate("c", 1); err != nil {
		t.Fatal(err)
	}
	i.Update("c", cgroups.Limits{})
	i.Recover([]string{"c"})
	i.Release("c")
	i.RemoveOrphans(nil)
	i.Sweep(map[int]string{1: "c"})
	i.Destroy("c")
	if _, ok := i.MemoryLimitation("c"); ok {
		t.Fatal("memory limitation without cgroups")
	}
	if _, ok := i.Stats("c"); ok {
		t.Fatal("stats without cgroups")
	}
	if i.Get("c") != nil || New(Config{Isolation: "posix/cpu,posix/mem"}, zap.NewNop()) != nil {
		t.Fatal("an isolator without cgroups")
	}
}
