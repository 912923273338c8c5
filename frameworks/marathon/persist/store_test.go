package persist

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/store"
)

func TestLoadVersionIndex(t *testing.T) {
	st, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, rv := range []RootVersion{
		{Version: "2024-01-02T00:00:00.000Z", Groups: map[string]groups.Meta{}, Apps: map[string]string{"/a": "v2", "/b": "v1"}},
		{Version: "2024-01-01T00:00:00.000Z", Groups: map[string]groups.Meta{}, Apps: map[string]string{"/a": "v1", "/b": "v1"}},
	} {
		if err := PutJSON(ctx, st, RootVersionKey(rv.Version), rv); err != nil {
			t.Fatal(err)
		}
	}
	x, err := loadVersionIndex(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"2024-01-01T00:00:00.000Z", "2024-01-02T00:00:00.000Z"}; !reflect.DeepEqual(x.roots, want) {
		t.Errorf("roots = %v", x.roots)
	}
	if want := map[string]map[string]int{"/a": {"v1": 1, "v2": 1}, "/b": {"v1": 2}}; !reflect.DeepEqual(x.refs, want) {
		t.Errorf("refs = %v", x.refs)
	}
	if !strings.HasPrefix(RootVersionKey("v"), KeyRootVersions+"/") {
		t.Error("key")
	}
}
