package groups

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// FuzzParseUpdate feeds arbitrary bodies to the group decoder: it must
// answer with a parsed update, a *MalformedError or a *ValidationError, never
// panic, and a parsed update must apply to a tree and render as JSON.
func FuzzParseUpdate(f *testing.F) {
	for _, s := range []string{
		`{"id":"/prod","apps":[{"id":"web","cmd":"x"}],"groups":[{"id":"db","apps":[{"id":"pg","cmd":"y","dependencies":["../web"]}]}],"dependencies":["/x"]}`,
		`{"id":"/prod","scaleBy":2.5}`,
		`{"version":"2024-01-01T00:00:00.000Z"}`,
		`{"id":"../..","groups":[{"id":"a","groups":[{"id":"b"}]}]}`,
		`{"apps":[{"id":"a","cmd":"x"}],"groups":[{"id":"a"}]}`,
		`{"id":3,"apps":{},"groups":[null,1]}`,
		`null`, `[]`, `{`,
	} {
		f.Add([]byte(s), "/")
		f.Add([]byte(s), "/prod")
	}
	root := func() *Group {
		a, err := app.Parse([]byte(`{"id":"/prod/web","cmd":"x"}`), "/")
		if err != nil {
			f.Fatal(err)
		}
		return Tree(map[string]*app.App{a.ID: a})
	}()
	f.Fuzz(func(t *testing.T, data []byte, base string) {
		u, err := ParseUpdate(data, base)
		if err != nil {
			var me *app.MalformedError
			var ve *app.ValidationError
			if !errors.As(err, &me) && !errors.As(err, &ve) {
				t.Fatalf("unexpected error type %T: %v", err, err)
			}
			if ve != nil && (ve.Message != app.MsgObjectNotValid || len(ve.Details) == 0) {
				t.Fatalf("empty validation error: %+v", ve)
			}
			return
		}
		if u.Version != "" {
			return
		}
		r, err := Apply(root, u, Options{Version: "2024-01-02T00:00:00.000Z"})
		if err != nil {
			return
		}
		if _, err := json.Marshal(r.Root); err != nil {
			t.Fatalf("render: %v", err)
		}
	})
}
