package groups

import (
	"encoding/json"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"pgregory.net/rapid"
)

// genApps draws a set of apps whose ids are paths of up to three segments
// from a small alphabet, so that groups and apps often share prefixes.
// An id that is also a prefix of another id is skipped (an app cannot be a
// group too).
func genApps(t *rapid.T) map[string]*app.App {
	seg := rapid.SampledFrom([]string{"a", "b", "c", "web", "db"})
	n := rapid.IntRange(0, 12).Draw(t, "n")
	apps := map[string]*app.App{}
	for i := 0; i < n; i++ {
		parts := rapid.SliceOfN(seg, 1, 3).Draw(t, "path")
		id := "/" + strings.Join(parts, "/")
		clash := false
		for other := range apps {
			if strings.HasPrefix(other+"/", id+"/") || strings.HasPrefix(id+"/", other+"/") {
				clash = true
			}
		}
		if clash {
			continue
		}
		inst := rapid.IntRange(0, 5).Draw(t, "instances")
		a, err := app.Parse([]byte(`{"id":"`+id+`","cmd":"x","instances":`+string(rune('0'+inst))+`}`), "/")
		if err != nil {
			t.Fatalf("parse %s: %v", id, err)
		}
		a.Version = v1
		apps[id] = a
	}
	return apps
}

func TestTreeProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		apps := genApps(t)
		root := Tree(apps)
		// Every app is in the tree exactly once, under its parent group.
		got := root.TransitiveApps()
		if len(got) != len(apps) {
			t.Fatalf("tree holds %d apps, want %d", len(got), len(apps))
		}
		for id, a := range apps {
			if root.App(id) != a || root.Find(app.ParentID(id)) == nil {
				t.Fatalf("app %s not found under its group", id)
			}
		}
		// Children are direct children, sorted.
		for _, g := range root.TransitiveGroups() {
			for i, c := range g.Groups {
				if app.ParentID(c.ID) != g.ID || (i > 0 && g.Groups[i-1].ID >= c.ID) {
					t.Fatalf("group %s: bad child order/parent %s", g.ID, c.ID)
				}
			}
		}
		// Metas round-trip.
		a, _ := json.Marshal(root)
		b, _ := json.Marshal(Build(root.TransitiveApps(), root.Metas()))
		if string(a) != string(b) {
			t.Fatalf("Build(Metas()) differs")
		}
		// Removing a group removes exactly the apps below it.
		groupIDs := slices.Sorted(maps.Keys(root.TransitiveGroups()))
		gid := rapid.SampledFrom(groupIDs).Draw(t, "group")
		r, err := Remove(root, gid, v2)
		if err != nil {
			t.Fatal(err)
		}
		var wantRemoved []string
		for id := range apps {
			if gid == RootID || strings.HasPrefix(id, gid+"/") {
				wantRemoved = append(wantRemoved, id)
			}
		}
		sort.Strings(wantRemoved)
		if strings.Join(r.Removed, ",") != strings.Join(wantRemoved, ",") || len(r.Apps)+len(r.Removed) != len(apps) {
			t.Fatalf("Remove(%s) removed %v, want %v", gid, r.Removed, wantRemoved)
		}
		// scaleBy never lowers instances for factors >= 1 and touches only
		// apps below the group.
		by := rapid.Float64Range(1, 3).Draw(t, "scaleBy")
		s, err := Apply(root, &Update{ID: gid, ScaleBy: &by}, Options{Version: v2})
		if err != nil {
			t.Fatal(err)
		}
		for id, a := range apps {
			n := s.Apps[id].Instances
			below := gid == RootID || strings.HasPrefix(id, gid+"/")
			if (below && n < a.Instances) || (!below && n != a.Instances) {
				t.Fatalf("scaleBy %v on %s: %s %d -> %d", by, gid, id, a.Instances, n)
			}
		}
	})
}
