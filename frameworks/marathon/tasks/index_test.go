package tasks

import (
	"reflect"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/planner"
)

func ids(ts []*Task) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// TestIndex: tasks are found by id and by app in id order; removing one forgets it; a
// Touch moves the revision on and refreshes the planner view in place.
func TestIndex(t *testing.T) {
	x := NewIndex(map[string]*Task{
		"a.2": {ID: "a.2", AppID: "/a", State: StateRunning},
		"a.1": {ID: "a.1", AppID: "/a", State: StateStaging},
		"b.1": {ID: "b.1", AppID: "/b", State: StateRunning},
	})
	if got := ids(x.OfApp("/a")); !reflect.DeepEqual(got, []string{"a.1", "a.2"}) {
		t.Errorf("OfApp(/a) = %v", got)
	}
	if got := x.Apps(); !reflect.DeepEqual(got, []string{"/a", "/b"}) {
		t.Errorf("Apps = %v", got)
	}
	if got := x.SortedIDs(); !reflect.DeepEqual(got, []string{"a.1", "a.2", "b.1"}) {
		t.Errorf("SortedIDs = %v", got)
	}
	view := func(t *Task) planner.Task { return t.PlannerView(nil) }
	pv := x.PlannerOf("/a", false, view)
	if len(pv) != 2 || pv[0].State != planner.Staging || pv[1].State != planner.Running {
		t.Fatalf("planner view = %+v", pv)
	}
	t1 := x.Get("a.1")
	rev := t1.Rev()
	t1.State = StateRunning
	x.Touch(t1)
	if t1.Rev() == rev {
		t.Error("Touch left the revision")
	}
	if pv := x.PlannerOf("/a", false, view); pv[0].State != planner.Running {
		t.Errorf("planner view after Touch = %+v", pv[0])
	}
	x.Remove(x.Get("b.1"))
	if x.Get("b.1") != nil || x.Len() != 2 || len(x.OfApp("/b")) != 0 || !reflect.DeepEqual(x.Apps(), []string{"/a"}) {
		t.Errorf("after Remove: len %d, apps %v", x.Len(), x.Apps())
	}
	// Adding a task with a known id replaces it.
	x.Add(&Task{ID: "a.1", AppID: "/a", State: StateKilling})
	if x.Len() != 2 || x.Get("a.1").State != StateKilling {
		t.Errorf("after replacing: len %d, state %s", x.Len(), x.Get("a.1").State)
	}
}
