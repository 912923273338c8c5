package allocator

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/agoracluster/agora/resources"
)

// benchCluster returns an allocator with agents agents (cpus:16;mem:65536 and
// ports) and frameworks frameworks spread over 10 roles.
func benchCluster(b *testing.B, agents, frameworks int) *Allocator {
	b.Helper()
	total := resources.MustParse("cpus:16;mem:65536;disk:100000;ports:[31000-32000]")
	a := New(DefaultConfig(), rand.New(rand.NewPCG(1, 2)))
	for i := range agents {
		a.AddAgent(fmt.Sprintf("agent-%05d", i), Agent{Total: total})
	}
	for i := range frameworks {
		a.AddFramework(fmt.Sprintf("fw-%03d", i), Framework{
			Roles:  []string{fmt.Sprintf("role-%d", i%10)},
			Active: true,
		})
	}
	return a
}

// BenchmarkAllocate measures one allocation cycle that offers every agent of an
// idle cluster (offer-all), and one in which every framework has declined every
// agent with a refuse filter (all-filtered: the steady state of a cluster whose
// frameworks decline what they get, after the first pass over new filters).
func BenchmarkAllocate(b *testing.B) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, agents := range []int{100, 1000, 10000} {
		for _, frameworks := range []int{10, 100} {
			b.Run(fmt.Sprintf("offer-all/agents=%d/frameworks=%d", agents, frameworks), func(b *testing.B) {
				a := benchCluster(b, agents, frameworks)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					offers := a.Allocate(now)
					if len(offers) != agents {
						b.Fatalf("%d offers, want %d", len(offers), agents)
					}
					b.StopTimer()
					for _, o := range offers {
						a.RecoverRole(o.FrameworkID, o.AgentID, o.Role, o.Resources, 0, now)
					}
					b.StartTimer()
				}
			})
			b.Run(fmt.Sprintf("all-filtered/agents=%d/frameworks=%d", agents, frameworks), func(b *testing.B) {
				a := benchCluster(b, agents, frameworks)
				// Every framework has declined every agent for an hour.
				for _, id := range sortedKeys(a.frameworks) {
					fw := a.frameworks[id]
					for _, s := range a.agentList {
						a.addFilter(fw, s, fw.roles[0], s.total, now.Add(time.Hour))
					}
				}
				a.Allocate(now) // the first pass checks every filter once
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if offers := a.Allocate(now); len(offers) != 0 {
						b.Fatalf("%d offers, want none", len(offers))
					}
				}
			})
		}
	}
}
