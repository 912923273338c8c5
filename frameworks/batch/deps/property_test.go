package deps

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// dag draws an acyclic graph: job i depends only on jobs of lower index, under shuffled names.
func dag(t *rapid.T) (Graph, []string) {
	n := rapid.IntRange(1, 12).Draw(t, "n")
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("j%02d", i)
	}
	names = rapid.Permutation(names).Draw(t, "names")
	g := Graph{}
	for i := range n {
		var parents []string
		for j := range i {
			if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("edge%d-%d", i, j)) == 0 {
				parents = append(parents, names[j])
			}
		}
		g[names[i]] = parents
	}
	return g, names
}

// ancestors is the naive reference: every job that id depends on, directly or not.
func ancestors(g Graph, id string) map[string]bool {
	seen := map[string]bool{}
	todo := slices.Clone(g[id])
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if !seen[p] {
			seen[p] = true
			todo = append(todo, g[p]...)
		}
	}
	return seen
}

func TestAcyclicGraphsValidate(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, names := dag(t)
		if err := g.Validate(); err != nil {
			t.Fatalf("acyclic graph %v: %v", g, err)
		}
		// Adding any further job whose parents exist keeps it valid.
		parents := rapid.SliceOfDistinct(rapid.SampledFrom(names), rapid.ID[string]).Draw(t, "parents")
		if err := CheckJob(g, "new", parents); err != nil {
			t.Fatalf("CheckJob(new, %v) on %v: %v", parents, g, err)
		}
	})
}

func TestBackEdgeNeverValidates(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, names := dag(t)
		// Pick a job and one of its ancestors (or itself) and make the ancestor depend on it.
		child := rapid.SampledFrom(names).Draw(t, "child")
		anc := []string{child}
		for a := range ancestors(g, child) {
			anc = append(anc, a)
		}
		slices.Sort(anc)
		parent := rapid.SampledFrom(anc).Draw(t, "ancestor")
		if err := CheckJob(g, parent, append(slices.Clone(g[parent]), child)); err == nil {
			t.Fatalf("CheckJob accepts %s depending on %s in %v", parent, child, g)
		}
		g[parent] = append(slices.Clone(g[parent]), child)

		err := g.Validate()
		var c *CycleError
		if !errors.As(err, &c) {
			t.Fatalf("%s depends on its descendant %s in %v, got %v", parent, child, g, err)
		}
		// The cycle it names is one: a closed walk along dependency edges.
		if len(c.Cycle) < 2 || c.Cycle[0] != c.Cycle[len(c.Cycle)-1] {
			t.Fatalf("not a closed walk: %v", c.Cycle)
		}
		for i := 0; i+1 < len(c.Cycle); i++ {
			if !slices.Contains(g[c.Cycle[i]], c.Cycle[i+1]) {
				t.Fatalf("cycle %v: %s does not depend on %s", c.Cycle, c.Cycle[i], c.Cycle[i+1])
			}
		}
		if errors.Is(err, ErrUnknownParent) {
			t.Fatalf("unknown parent reported in %v: %v", g, err)
		}
	})
}

func TestUnknownParentsMatchReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g, names := dag(t)
		victim := rapid.SampledFrom(names).Draw(t, "deleted")
		delete(g, victim)
		want := 0
		for _, parents := range g {
			want += len(slices.DeleteFunc(slices.Clone(parents), func(p string) bool { return p != victim }))
		}
		got := 0
		if err := g.Validate(); err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var u *UnknownParentError
				if !errors.As(e, &u) || u.Parent != victim {
					t.Fatalf("unexpected %v", e)
				}
				got++
			}
		}
		if got != want {
			t.Fatalf("got %d unknown-parent errors, want %d", got, want)
		}
	})
}
