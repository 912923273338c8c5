package ledger

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/agoracluster/agora/master/allocator"
)

// TestWeightsReachTheAllocator: --weights (Config.Allocator.Weights) and
// SetWeight take effect in the allocator; a bad weight is refused and asks for
// no allocation.
func TestWeightsReachTheAllocator(t *testing.T) {
	h := newHarness(t)
	cfg := DefaultConfig()
	cfg.Allocator.Weights = map[string]float64{"eng": 2.5}
	l := New(cfg, h.clock, h.s.info, nil)
	if got := l.alloc.Weights(); !reflect.DeepEqual(got, map[string]float64{"eng": 2.5}) {
		t.Fatalf("weights after New = %v", got)
	}
	if err := l.SetWeight("ops", 0); err == nil || !strings.Contains(err.Error(), `role "ops": 0`) {
		t.Fatalf("SetWeight(ops, 0) = %v, want an error naming the role", err)
	}
	if err := l.SetWeight("../x", 1); err == nil || !strings.Contains(err.Error(), "invalid role") {
		t.Fatalf("SetWeight(../x, 1) = %v, want invalid role", err)
	}
	if l.AllocationPending() {
		t.Fatal("a refused weight asked for an allocation cycle")
	}
	if err := l.SetWeight("ops", 3); err != nil {
		t.Fatal(err)
	}
	if !l.AllocationPending() {
		t.Fatal("a new weight did not ask for an allocation cycle")
	}
	if got := l.alloc.Weights(); !reflect.DeepEqual(got, map[string]float64{"eng": 2.5, "ops": 3}) {
		t.Fatalf("weights = %v", got)
	}
}

// TestQuotaReachesTheAllocator: SetQuota takes effect in the allocator; a
// guarantee above the cluster's total is refused unless forced.
func TestQuotaReachesTheAllocator(t *testing.T) {
	h := newHarness(t)
	h.addAgent("host1", "cpus:4;mem:4096")
	h.s.TakeEffects()
	h.s.allocPending = false
	err := h.s.SetQuota("eng", allocator.Quota{Guarantees: allocator.Quantities{"cpus": 8}}, false)
	if !errors.Is(err, allocator.ErrQuotaExceedsCapacity) || !strings.Contains(err.Error(), "cpus") {
		t.Fatalf("SetQuota above capacity = %v, want ErrQuotaExceedsCapacity naming cpus", err)
	}
	if h.s.AllocationPending() {
		t.Fatal("a refused quota asked for an allocation cycle")
	}
	if err := h.s.SetQuota("eng", allocator.Quota{Guarantees: allocator.Quantities{"cpus": 8}}, true); err != nil {
		t.Fatalf("forced SetQuota = %v", err)
	}
	if !h.s.AllocationPending() {
		t.Fatal("a new quota did not ask for an allocation cycle")
	}
	want := map[string]allocator.Quota{"eng": {Guarantees: allocator.Quantities{"cpus": 8}}}
	if got := h.s.alloc.Quotas(); !reflect.DeepEqual(got, want) {
		t.Fatalf("quotas = %v, want %v", got, want)
	}
}
