package sdk_test

import (
	"context"
	"testing"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/store"
)

func TestIDStores(t *testing.T) {
	fs, err := store.OpenFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]sdk.FrameworkIDStore{
		"memory": &sdk.MemoryIDStore{},
		"store":  sdk.NewStoreIDStore(fs, "frameworks/sleepers/id"),
	}
	ctx := context.Background()
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			steps := []struct {
				save string
				want string
			}{
				{want: ""},
				{save: "fw-1", want: "fw-1"},
				{save: "fw-2", want: "fw-2"},
				{save: "", want: ""},
				{save: "", want: ""},
			}
			for i, st := range steps {
				if i > 0 {
					if err := s.Save(ctx, st.save); err != nil {
						t.Fatalf("step %d: Save(%q) = %v", i, st.save, err)
					}
				}
				if got, err := s.Load(ctx); err != nil || got != st.want {
					t.Fatalf("step %d: Load() = %q, %v; want %q", i, got, err, st.want)
				}
			}
		})
	}
}
