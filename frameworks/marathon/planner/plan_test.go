package planner

import (
	"reflect"
	"testing"
	"time"
)

func TestConflicts(t *testing.T) {
	mk := func(id string, apps ...string) Plan {
		target := map[string]AppSpec{}
		for _, a := range apps {
			target[a] = AppSpec{ID: a, Version: "v", Instances: 1}
		}
		p, err := NewPlan(id, "t", nil, target)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	running := []Plan{mk("d1", "/a"), mk("d2", "/b", "/c"), mk("d3", "/d")}
	tests := []struct {
		name string
		plan Plan
		want []string
	}{
		{"none", mk("x", "/e"), nil},
		{"one", mk("x", "/c"), []string{"d2"}},
		{"two", mk("x", "/a", "/d"), []string{"d1", "d3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Conflicts(tt.plan, running); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNoChangeNoSteps(t *testing.T) {
	apps := map[string]AppSpec{"/a": {ID: "/a", Version: "v1", Instances: 2}}
	p, err := NewPlan("d", "t", apps, apps)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 0 {
		t.Fatalf("steps for an unchanged app: %s", p)
	}
	if _, _, finished := Advance(p, 0, State{}, time.Time{}); !finished {
		t.Fatal("empty plan not finished")
	}
}
