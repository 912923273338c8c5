package allocator

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
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
				for _, id := range slices.Sorted(maps.Keys(a.frameworks)) {
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

// benchMixed returns a cluster with weights, reservations and hierarchical
// roles in play, and quotas when withQuota: frameworks spread over 50 roles
// (team-0 … team-9, each with children team-i/svc-0 … team-i/svc-3), every
// top-level team with a weight, every 10th agent with a reservation for a
// team, and quotas (guarantees and limits) on half of the teams.
func benchMixed(b *testing.B, agents, frameworks int, withQuota bool) *Allocator {
	b.Helper()
	plain := resources.MustParse("cpus:16;mem:65536;disk:100000;ports:[31000-32000]")
	a := New(DefaultConfig(), rand.New(rand.NewPCG(1, 2)))
	for i := range agents {
		total := plain
		if i%10 == 0 {
			total = resources.MustParse(fmt.Sprintf("cpus:8;mem:32768;cpus(team-%d):8;mem(team-%d):32768;ports:[31000-32000]", i%7, i%7))
		}
		a.AddAgent(fmt.Sprintf("agent-%05d", i), Agent{Total: total})
	}
	for t := range 10 {
		if err := a.SetWeight(fmt.Sprintf("team-%d", t), float64(1+t%4)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range frameworks {
		role := fmt.Sprintf("team-%d", i%10)
		if k := (i / 10) % 5; k > 0 {
			role = fmt.Sprintf("%s/svc-%d", role, k-1)
		}
		a.AddFramework(fmt.Sprintf("fw-%04d", i), Framework{Roles: []string{role}, Active: true})
	}
	if withQuota {
		cpus := float64(agents) * 16
		for t := 0; t < 10; t += 2 {
			q := Quota{
				Guarantees: Quantities{"cpus": cpus * 0.05, "mem": cpus * 0.05 * 4096},
				Limits:     Quantities{"cpus": cpus * 0.15, "mem": cpus * 0.15 * 4096},
			}
			if err := a.SetQuota(fmt.Sprintf("team-%d", t), q, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	return a
}

// BenchmarkAllocateMixed measures one offer-all cycle of a cluster with
// weights, reservations and hierarchical roles in play, without and with
// quotas (guarantees and limits on half the teams).
func BenchmarkAllocateMixed(b *testing.B) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, size := range []struct{ agents, frameworks int }{{10000, 1000}, {20000, 2000}, {50000, 100}} {
		for _, withQuota := range []bool{false, true} {
			name := fmt.Sprintf("weights+reservations/agents=%d/frameworks=%d", size.agents, size.frameworks)
			if withQuota {
				name = fmt.Sprintf("weights+reservations+quota/agents=%d/frameworks=%d", size.agents, size.frameworks)
			}
			b.Run(name, func(b *testing.B) {
				a := benchMixed(b, size.agents, size.frameworks, withQuota)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					offers := a.Allocate(now)
					if len(offers) < size.agents {
						b.Fatalf("%d offers for %d agents", len(offers), size.agents)
					}
					b.StopTimer()
					for _, o := range offers {
						a.RecoverRole(o.FrameworkID, o.AgentID, o.Role, o.Resources, 0, now)
					}
					b.StartTimer()
				}
			})
		}
	}
}
