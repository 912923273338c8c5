package deps

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		g       Graph
		unknown []UnknownParentError
		cycle   []string
	}{
		{"empty", Graph{}, nil, nil},
		{"independent jobs", Graph{"a": nil, "b": nil}, nil, nil},
		{"chain", Graph{"a": nil, "b": {"a"}, "c": {"b"}}, nil, nil},
		{"diamond", Graph{"a": nil, "b": {"a"}, "c": {"a"}, "d": {"b", "c"}}, nil, nil},
		{"unknown parents", Graph{"a": {"x"}, "b": {"a", "y", "z"}}, []UnknownParentError{{"a", "x"}, {"b", "y"}, {"b", "z"}}, nil},
		{"self", Graph{"a": {"a"}}, nil, []string{"a", "a"}},
		{"two jobs", Graph{"a": {"b"}, "b": {"a"}}, nil, []string{"a", "b", "a"}},
		{"three jobs behind a root", Graph{"r": nil, "a": {"r", "c"}, "b": {"a"}, "c": {"b"}}, nil, []string{"a", "c", "b", "a"}},
		{"cycle not through the first job", Graph{"a": {"b"}, "b": nil, "x": {"y"}, "y": {"x"}}, nil, []string{"x", "y", "x"}},
		{"unknown parent and cycle", Graph{"a": {"b", "q"}, "b": {"a"}}, []UnknownParentError{{"a", "q"}}, []string{"a", "b", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Validate()
			if tt.unknown == nil && tt.cycle == nil {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			var got []UnknownParentError
			var cycle []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var u *UnknownParentError
				var c *CycleError
				switch {
				case errors.As(e, &u):
					got = append(got, *u)
				case errors.As(e, &c):
					cycle = c.Cycle
				default:
					t.Fatalf("unexpected %v", e)
				}
			}
			if !reflect.DeepEqual(got, tt.unknown) || !reflect.DeepEqual(cycle, tt.cycle) {
				t.Fatalf("got unknown %v, cycle %v; want %v, %v", got, cycle, tt.unknown, tt.cycle)
			}
			if tt.unknown != nil && !errors.Is(err, ErrUnknownParent) {
				t.Error("not ErrUnknownParent")
			}
			if tt.cycle != nil && !errors.Is(err, ErrCycle) {
				t.Error("not ErrCycle")
			}
		})
	}
}

func TestCycleErrorMessage(t *testing.T) {
	err := Graph{"etl.load": {"etl.extract"}, "etl.extract": {"etl.load"}}.Validate()
	if got, want := err.Error(), "deps: dependency cycle etl.extract -> etl.load -> etl.extract"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	err = Graph{"a": {"b"}}.Validate()
	if got, want := err.Error(), "deps: job a depends on unknown job b"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestCheckJob(t *testing.T) {
	g := Graph{"a": nil, "b": {"a"}, "c": {"b"}, "d": nil}
	tests := []struct {
		name    string
		id      string
		parents []string
		want    []job.Detail
	}{
		{"new job with known parents", "e", []string{"c", "d"}, nil},
		{"new job without parents", "e", nil, nil},
		{"unknown parent", "e", []string{"a", "x"}, []job.Detail{{Path: "/dependencies(1)", Errors: []string{"unknown job x"}}}},
		{"update closing a cycle", "a", []string{"d", "c"}, []job.Detail{{Path: "/dependencies(1)", Errors: []string{"dependency cycle a -> c -> b -> a"}}}},
		{"update replacing parents keeps no cycle", "b", []string{"d"}, nil},
		{"self", "a", []string{"a"}, []job.Detail{{Path: "/dependencies(0)", Errors: []string{"dependency cycle a -> a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckJob(g, tt.id, tt.parents)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			var inv *job.InvalidError
			if !errors.As(err, &inv) || !reflect.DeepEqual(inv.Details, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	if !reflect.DeepEqual(g, Graph{"a": nil, "b": {"a"}, "c": {"b"}, "d": nil}) {
		t.Fatalf("CheckJob changed the graph: %v", g)
	}
}

func TestChildren(t *testing.T) {
	g := Graph{"a": nil, "b": {"a"}, "c": {"a", "b"}, "d": nil}
	if got := g.Children("a"); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Errorf("children of a: %v", got)
	}
	if got := g.Children("d"); got != nil {
		t.Errorf("children of d: %v", got)
	}
}

func TestDue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }
	ok := func(start, end int) *Run { return &Run{Started: m(start), Finished: m(end), Success: true} }
	failed := func(start, end int) *Run { return &Run{Started: m(start), Finished: m(end)} }
	active := func(start int) *Run { return &Run{Started: m(start)} }
	tests := []struct {
		name    string
		parents []*Run
		child   *Run
		want    bool
	}{
		{"no parents", nil, nil, false},
		{"parent succeeded, child never ran", []*Run{ok(0, 5)}, nil, true},
		{"parent never ran", []*Run{nil}, nil, false},
		{"parent active", []*Run{active(0)}, nil, false},
		{"parent failed", []*Run{failed(0, 5)}, nil, false},
		{"one of two parents succeeded", []*Run{ok(0, 5), nil}, nil, false},
		{"both parents succeeded", []*Run{ok(0, 5), ok(1, 7)}, nil, true},
		{"parent succeeded after the child's last run started", []*Run{ok(10, 15)}, ok(6, 9), true},
		{"parent succeeded before the child's last run started", []*Run{ok(0, 5)}, ok(6, 9), false},
		{"parent finished exactly when the child started", []*Run{ok(0, 5)}, ok(5, 9), false},
		{"child's run failed, parent did not run again", []*Run{ok(0, 5)}, failed(6, 9), false},
		{"only one parent ran again", []*Run{ok(10, 15), ok(1, 4)}, ok(6, 9), false},
		{"both parents ran again", []*Run{ok(10, 15), ok(11, 12)}, ok(6, 9), true},
		{"child active while parents ran again", []*Run{ok(10, 15)}, active(6), false},
		{"parent's latest run failed after an earlier success", []*Run{failed(10, 15)}, ok(6, 9), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Due(tt.parents, tt.child); got != tt.want {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func ExampleGraph_Validate() {
	g := Graph{"etl.extract": nil, "etl.load": {"etl.extract", "etl.report"}, "etl.report": {"etl.load"}}
	fmt.Println(g.Validate())
	// Output: deps: dependency cycle etl.load -> etl.report -> etl.load
}
