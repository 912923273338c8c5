package allocator

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/resources"
)

func newTestAllocator() *Allocator {
	return New(DefaultConfig(), rand.New(rand.NewPCG(1, 0)))
}

// at returns epoch + seconds.
func at(seconds float64) time.Time {
	return epoch.Add(time.Duration(seconds * float64(time.Second)))
}

// offerStrings renders offers as sorted "framework agent role resources".
func offerStrings(offers []Offer) []string {
	out := make([]string, len(offers))
	for i, o := range offers {
		out[i] = fmt.Sprintf("%s %s %s %s", o.FrameworkID, o.AgentID, o.Role, o.Resources)
	}
	slices.Sort(out)
	return out
}

func TestAllocateRules(t *testing.T) {
	r := resources.MustParse
	tests := []struct {
		name  string
		setup func(a *Allocator) // runs one cycle at t=0s before the checked one if it wants
		now   time.Time
		want  []string
	}{
		{
			name: "whole agent to the only framework",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:4;mem:4096;ports:[31000-31100]")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
			},
			want: []string{"f1 a1 web cpus:4;mem:4096;ports:[31000-31100]"},
		},
		{
			name: "reserved resources only to their role",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus(web):2;mem(web):1024")})
				a.AddFramework("f1", Framework{Roles: []string{"batch"}, Active: true})
			},
			want: []string{},
		},
		{
			name: "reserved and unreserved together to the reservation's role",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512;cpus(web):2")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
			},
			want: []string{"f1 a1 web cpus:1;cpus(web):2;mem:512"},
		},
		{
			name: "reservation of a parent role goes to a child role",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus(eng):2;mem(eng):512")})
				a.AddFramework("f1", Framework{Roles: []string{"eng/web"}, Active: true})
			},
			want: []string{"f1 a1 eng/web cpus(eng):2;mem(eng):512"},
		},
		{
			name: "one offer per role for a multi-role framework",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512;cpus(db):2;mem(db):256")})
				// app sorts before db at equal shares, takes the unreserved part,
				// then db gets its reservation.
				a.AddFramework("f1", Framework{Roles: []string{"db", "app"}, Active: true})
			},
			want: []string{"f1 a1 app cpus:1;mem:512", "f1 a1 db cpus(db):2;mem(db):256"},
		},
		{
			name: "empty roles mean the default role",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Active: true})
			},
			want: []string{"f1 a1 * cpus:1;mem:512"},
		},
		{
			name: "suppressed framework gets nothing",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Suppress("f1", nil)
			},
			want: []string{},
		},
		{
			name: "suppressing one role leaves the others",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web", "batch"}, Active: true, SuppressedRoles: []string{"batch"}})
			},
			want: []string{"f1 a1 web cpus:1;mem:512"},
		},
		{
			name: "revive undoes suppress",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Suppress("f1", []string{"web"})
				a.Revive("f1", []string{"web"})
			},
			want: []string{"f1 a1 web cpus:1;mem:512"},
		},
		{
			name: "refuse filter holds before expiry",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.Recover("f1", "a1", r("cpus:1;mem:512"), 5*time.Second, at(1))
			},
			now:  at(5.999),
			want: []string{},
		},
		{
			name: "refuse filter is gone at expiry",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.Recover("f1", "a1", r("cpus:1;mem:512"), 5*time.Second, at(1))
			},
			now:  at(6),
			want: []string{"f1 a1 web cpus:1;mem:512"},
		},
		{
			name: "filtered framework is skipped for the next one",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.AddFramework("f2", Framework{Roles: []string{"web"}, Active: true})
				a.Recover("f1", "a1", r("cpus:1;mem:512"), time.Minute, at(1))
			},
			now:  at(2),
			want: []string{"f2 a1 web cpus:1;mem:512"},
		},
		{
			name: "filter does not block more than it refused",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:2;mem:1024")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.Recover("f1", "a1", r("cpus:1;mem:512"), time.Minute, at(1))
				a.Recover("f1", "a1", r("cpus:1;mem:512"), 0, at(1))
			},
			now:  at(2),
			want: []string{"f1 a1 web cpus:2;mem:1024"},
		},
		{
			name: "filter is for the role the resources were offered in",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"a", "b"}, Active: true})
				a.Allocate(at(0)) // role a (name order at equal shares)
				a.Recover("f1", "a1", r("cpus:1;mem:512"), time.Minute, at(1))
			},
			now:  at(2),
			want: []string{"f1 a1 b cpus:1;mem:512"},
		},
		{
			name: "revive clears filters",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.Recover("f1", "a1", r("cpus:1;mem:512"), time.Hour, at(1))
				a.Revive("f1", nil)
			},
			now:  at(2),
			want: []string{"f1 a1 web cpus:1;mem:512"},
		},
		{
			name: "revive of another role keeps the filter",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.Recover("f1", "a1", r("cpus:1;mem:512"), time.Hour, at(1))
				a.Revive("f1", []string{"batch"})
			},
			now:  at(2),
			want: []string{},
		},
		{
			name: "lower weighted share goes first",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddAgent("a2", Agent{Total: r("cpus:1;mem:512")})
				a.AddAgent("a3", Agent{Total: r("cpus:1;mem:512")})
				// Role a holds a third (share 1/3); with weight 2 its weighted
				// share 1/6 is below b's 1/3 (which holds a third too).
				a.AddFramework("fa", Framework{Roles: []string{"a"}, Active: true, Used: map[string]resources.Resources{"a1": r("cpus:0.5;mem:256")}})
				a.AddFramework("fb", Framework{Roles: []string{"b"}, Active: true, Used: map[string]resources.Resources{"a2": r("cpus:0.5;mem:256")}})
				_ = a.SetWeight("a", 2)
				a.RemoveAgent("a1")
				a.RemoveAgent("a2")
			},
			want: []string{"fa a3 a cpus:1;mem:512"},
		},
		{
			name: "deactivated agent is not offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddAgent("a2", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.DeactivateAgent("a1")
			},
			want: []string{"f1 a2 web cpus:1;mem:512"},
		},
		{
			name: "reactivated agent is offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.DeactivateAgent("a1")
				a.ActivateAgent("a1")
			},
			want: []string{"f1 a1 web cpus:1;mem:512"},
		},
		{
			name: "inactive framework gets nothing",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: false})
			},
			want: []string{},
		},
		{
			name: "deactivated framework gets nothing",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.DeactivateFramework("f1")
			},
			want: []string{},
		},
		{
			name: "leftover below the minimum is not offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512"), Used: map[string]resources.Resources{"x": r("cpus:0.991;mem:481")}})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
			},
			want: []string{},
		},
		{
			name: "cpus at the minimum is offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512"), Used: map[string]resources.Resources{"x": r("cpus:0.99;mem:512")}})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
			},
			want: []string{"f1 a1 web cpus:0.01"},
		},
		{
			name: "mem at the minimum is offered",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512"), Used: map[string]resources.Resources{"x": r("cpus:1;mem:480")}})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
			},
			want: []string{"f1 a1 web mem:32"},
		},
		{
			name: "offered resources are not offered again",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.AddFramework("f2", Framework{Roles: []string{"web"}, Active: true})
			},
			want: []string{},
		},
		{
			name: "recovered resources are offered again",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.RecoverRole("f1", "a1", "web", r("cpus:0.5"), 0, at(0))
			},
			want: []string{"f1 a1 web cpus:0.5"},
		},
		{
			name: "removed framework's resources are offered to others",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.AddFramework("f2", Framework{Roles: []string{"batch"}, Active: true})
				a.RemoveFramework("f1")
			},
			want: []string{"f2 a1 batch cpus:1;mem:512"},
		},
		{
			name: "grown agent offers the difference",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.Allocate(at(0))
				a.UpdateAgentTotal("a1", r("cpus:2;mem:512"))
			},
			want: []string{"f1 a1 web cpus:1"},
		},
		{
			name: "events for unknown ids change nothing",
			setup: func(a *Allocator) {
				a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
				a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
				a.RemoveAgent("nope")
				a.RemoveFramework("nope")
				a.DeactivateAgent("nope")
				a.DeactivateFramework("nope")
				a.Suppress("nope", nil)
				a.Recover("nope", "a1", r("cpus:1"), time.Hour, at(0))
				a.Recover("f1", "nope", r("cpus:1"), time.Hour, at(0))
				a.RecoverRole("f1", "a1", "nope", r("cpus:1"), time.Hour, at(0))
			},
			want: []string{"f1 a1 web cpus:1;mem:512"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestAllocator()
			tt.setup(a)
			now := tt.now
			if now.IsZero() {
				now = at(0)
			}
			got := offerStrings(a.Allocate(now))
			if !slices.Equal(got, tt.want) {
				t.Errorf("offers:\n  got  %q\n  want %q", got, tt.want)
			}
		})
	}
}

func TestNextFilterExpiry(t *testing.T) {
	r := resources.MustParse
	a := newTestAllocator()
	if _, ok := a.NextFilterExpiry(); ok {
		t.Fatal("expiry without filters")
	}
	a.AddAgent("a1", Agent{Total: r("cpus:1;mem:512")})
	a.AddAgent("a2", Agent{Total: r("cpus:1;mem:512")})
	a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true})
	a.Allocate(at(0))
	a.Recover("f1", "a1", r("cpus:1;mem:512"), 10*time.Second, at(1))
	a.Recover("f1", "a2", r("cpus:1;mem:512"), 5*time.Second, at(1))
	steps := []struct {
		allocateAt float64
		want       time.Time
		ok         bool
	}{
		{allocateAt: 2, want: at(6), ok: true},
		{allocateAt: 6, want: at(11), ok: true},
		{allocateAt: 11, ok: false},
	}
	for _, s := range steps {
		a.Allocate(at(s.allocateAt))
		got, ok := a.NextFilterExpiry()
		if ok != s.ok || !got.Equal(s.want) {
			t.Errorf("after Allocate(t=%vs): NextFilterExpiry() = %v, %v; want %v, %v", s.allocateAt, got, ok, s.want, s.ok)
		}
	}
	a.Recover("f1", "a1", r("cpus:1;mem:512"), time.Minute, at(12))
	a.Revive("f1", nil)
	if got, ok := a.NextFilterExpiry(); ok {
		t.Errorf("after Revive: NextFilterExpiry() = %v, true; want none", got)
	}
}

func TestSnapshotShares(t *testing.T) {
	r := resources.MustParse
	a := newTestAllocator()
	a.AddAgent("a1", Agent{Total: r("cpus:4;mem:1024")})
	a.AddAgent("a2", Agent{Total: r("cpus:4;mem:1024")})
	a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true,
		Used: map[string]resources.Resources{"a1": r("cpus:2;mem:256")}})
	a.AddFramework("f2", Framework{Roles: []string{"web", "batch"}, Active: true,
		Used: map[string]resources.Resources{"a2": r("cpus:1;mem:1024")}})
	if err := a.SetWeight("web", 2); err != nil {
		t.Fatal(err)
	}
	snap := a.Snapshot()
	// web holds cpus 3/8 and mem 1280/2048: dominant 0.625, weighted 0.3125.
	if got := snap.Roles[1]; got.Name != "web" || got.Weight != 2 || math.Abs(got.Share-0.3125) > 1e-9 {
		t.Errorf("web role = %+v", got)
	}
	if got := snap.Roles[0]; got.Name != "batch" || got.Share != 0 || !got.Allocated.IsEmpty() {
		t.Errorf("batch role = %+v", got)
	}
	wantShares := map[string]float64{"f1": 0.25, "f2": 0.5}
	for _, f := range snap.Frameworks {
		if got := f.Shares["web"]; math.Abs(got-wantShares[f.ID]) > 1e-9 {
			t.Errorf("framework %s web share = %v, want %v", f.ID, got, wantShares[f.ID])
		}
	}
	if !snap.Total.Equal(r("cpus:8;mem:2048")) {
		t.Errorf("total = %s", snap.Total)
	}
}

func TestSetWeightRejects(t *testing.T) {
	for _, w := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		t.Run(fmt.Sprint(w), func(t *testing.T) {
			if err := newTestAllocator().SetWeight("web", w); !errors.Is(err, ErrInvalidWeight) {
				t.Errorf("SetWeight(%v) = %v, want ErrInvalidWeight", w, err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none: valid
	}{
		{name: "default", cfg: DefaultConfig()},
		{name: "no minimum", cfg: Config{}},
		{name: "empty entry", cfg: Config{MinAllocatable: []Quantities{{}}}, want: []string{"MinAllocatable[0]: must not be empty"}},
		{
			name: "every problem at once",
			cfg:  Config{MinAllocatable: []Quantities{{"cpus": -1}, {"mem": math.NaN()}}},
			want: []string{"MinAllocatable[0].cpus", "MinAllocatable[1].mem"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, missing %q", err, w)
				}
			}
		})
	}
}

func TestQuantitiesString(t *testing.T) {
	if got := (Quantities{"mem": 32, "cpus": 0.01}).String(); got != "cpus:0.01;mem:32" {
		t.Errorf("String() = %q", got)
	}
}

func TestUpdateFramework(t *testing.T) {
	r := resources.MustParse
	a := newTestAllocator()
	a.AddAgent("a1", Agent{Total: r("cpus:2;mem:1024")})
	a.AddAgent("a2", Agent{Total: r("cpus:2;mem:1024")})
	a.AddFramework("f1", Framework{Roles: []string{"web"}, Active: true,
		Used: map[string]resources.Resources{"a1": r("cpus:1;mem:512")}})
	a.Allocate(at(0))
	a.Recover("f1", "a2", r("cpus:2;mem:1024"), time.Hour, at(0))
	a.UpdateFramework("f1", []string{"batch"})

	snap := a.Snapshot()
	if len(snap.Roles) != 1 || snap.Roles[0].Name != "batch" {
		t.Fatalf("roles = %+v, want only batch", snap.Roles)
	}
	f := snap.Frameworks[0]
	if !f.AllocatedByRole["batch"].Equal(r("cpus:2;mem:1024")) || f.Filters != 0 {
		t.Errorf("framework = %+v, want a1 moved to batch and no filters", f)
	}
	// The web filter on a2 is gone with the role: a2 is offered in batch.
	if got, want := offerStrings(a.Allocate(at(1))), []string{"f1 a2 batch cpus:2;mem:1024"}; !slices.Equal(got, want) {
		t.Errorf("offers = %q, want %q", got, want)
	}
	a.UpdateFramework("nope", []string{"x"})
}
