package matching

import (
	"fmt"
	"testing"

	"github.com/agoracluster/agora/frameworks/sdk/offers"
	"pgregory.net/rapid"
)

// TestMatchNeverOverCommits: whatever is asked, the placements on an offer fit in it, no
// host port is handed out twice, and no request gets more tasks than it asked for.
func TestMatchNeverOverCommits(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 4).Draw(t, "offers")
		pool := make([]*offers.Offer, n)
		for i := range pool {
			cpus := rapid.IntRange(0, 8).Draw(t, "cpus")
			mem := rapid.IntRange(0, 1024).Draw(t, "mem")
			ports := rapid.IntRange(0, 5).Draw(t, "ports")
			res := fmt.Sprintf("cpus:%d;mem:%d", cpus, mem)
			if ports > 0 {
				res += fmt.Sprintf(";ports:[31000-%d]", 31000+ports-1)
			}
			pool[i] = testOffer(fmt.Sprintf("o%d", i), fmt.Sprintf("h%d", i), res, "")
		}
		reqs := make([]LaunchRequest, rapid.IntRange(1, 3).Draw(t, "requests"))
		for i := range reqs {
			reqs[i] = LaunchRequest{
				Count:     rapid.IntRange(0, 6).Draw(t, "count"),
				Cpus:      float64(rapid.IntRange(1, 4).Draw(t, "tcpus")) / 2,
				Mem:       float64(rapid.IntRange(0, 256).Draw(t, "tmem")),
				HostPorts: make([]int, rapid.IntRange(0, 2).Draw(t, "tports")),
			}
		}
		res := Match(pool, reqs)
		perReq := map[int]int{}
		cpus, mem := map[string]float64{}, map[string]float64{}
		ports := map[string]map[uint64]bool{}
		for _, p := range res.Placements {
			id := p.Offer.ID().GetValue()
			perReq[p.Request]++
			cpus[id] += p.Resources.Scalar("cpus")
			mem[id] += p.Resources.Scalar("mem")
			if ports[id] == nil {
				ports[id] = map[uint64]bool{}
			}
			for _, port := range p.Ports {
				if ports[id][port] {
					t.Fatalf("port %d of %s handed out twice", port, id)
				}
				ports[id][port] = true
			}
		}
		for i, r := range reqs {
			if perReq[i] > r.Count {
				t.Fatalf("request %d got %d tasks, asked for %d", i, perReq[i], r.Count)
			}
		}
		for _, o := range pool {
			id := o.ID().GetValue()
			if cpus[id] > o.Total().Scalar("cpus")+1e-9 || mem[id] > o.Total().Scalar("mem")+1e-9 {
				t.Fatalf("offer %s over-committed: cpus %v/%v mem %v/%v", id, cpus[id], o.Total().Scalar("cpus"), mem[id], o.Total().Scalar("mem"))
			}
		}
	})
}
