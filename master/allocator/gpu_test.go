package allocator

import (
	"maps"
	"slices"
	"testing"

	"github.com/agoracluster/agora/resources"
)

func TestGPUAgentsOnlyToGPUFrameworks(t *testing.T) {
	r := resources.MustParse
	tests := []struct {
		name       string
		agents     map[string]string // id → total
		frameworks map[string]bool   // id → GPU_RESOURCES
		wantAgents map[string][]string
	}{
		{
			name:       "GPU agent not offered without the capability",
			agents:     map[string]string{"gpu": "cpus:4;mem:1024;gpus:2", "cpu": "cpus:4;mem:1024"},
			frameworks: map[string]bool{"plain": false},
			wantAgents: map[string][]string{"plain": {"cpu"}},
		},
		{
			name:       "capable framework gets both kinds",
			agents:     map[string]string{"gpu": "cpus:4;mem:1024;gpus:2", "cpu": "cpus:4;mem:1024"},
			frameworks: map[string]bool{"aware": true},
			wantAgents: map[string][]string{"aware": {"cpu", "gpu"}},
		},
		{
			name:       "GPU agent goes to the capable framework",
			agents:     map[string]string{"gpu": "cpus:4;mem:1024;gpus:1"},
			frameworks: map[string]bool{"plain": false, "aware": true},
			wantAgents: map[string][]string{"aware": {"gpu"}},
		},
		{
			name:       "reserved gpus count",
			agents:     map[string]string{"gpu": "cpus:4;mem:1024;gpus(web):1"},
			frameworks: map[string]bool{"plain": false},
			wantAgents: map[string][]string{},
		},
		{
			name:       "nobody capable: GPU agent idle",
			agents:     map[string]string{"gpu": "cpus:4;gpus:8"},
			frameworks: map[string]bool{"a": false, "b": false},
			wantAgents: map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAllocator()
			for _, id := range slices.Sorted(maps.Keys(tt.agents)) {
				a.AddAgent(id, Agent{Total: r(tt.agents[id])})
			}
			for _, id := range slices.Sorted(maps.Keys(tt.frameworks)) {
				a.AddFramework(id, Framework{Roles: []string{"web"}, Active: true, GPUResources: tt.frameworks[id]})
			}
			got := map[string][]string{}
			for _, o := range a.Allocate(at(0)) {
				got[o.FrameworkID] = append(got[o.FrameworkID], o.AgentID)
			}
			for fw := range got {
				slices.Sort(got[fw])
			}
			if len(got) != len(tt.wantAgents) {
				t.Fatalf("offers = %v, want %v", got, tt.wantAgents)
			}
			for fw, want := range tt.wantAgents {
				if !slices.Equal(got[fw], want) {
					t.Fatalf("offers = %v, want %v", got, tt.wantAgents)
				}
			}
		})
	}
}

// An agent whose gpus go away (UpdateAgentTotal) is offered to everyone again.
func TestGPUAgentTotalChange(t *testing.T) {
	r := resources.MustParse
	a := newTestAllocator()
	a.AddAgent("a1", Agent{Total: r("cpus:1;gpus:1")})
	a.AddFramework("plain", Framework{Roles: []string{"web"}, Active: true})
	if offers := a.Allocate(at(0)); len(offers) != 0 {
		t.Fatalf("offers %v on a GPU agent to a framework without GPU_RESOURCES", offerStrings(offers))
	}
	a.UpdateAgentTotal("a1", r("cpus:1"))
	if offers := a.Allocate(at(1)); len(offers) != 1 {
		t.Fatalf("offers = %v, want one after the gpus went", offerStrings(offers))
	}
}
