package files

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestFilesAPI(t *testing.T) {
	work := t.TempDir()
	sandbox := filepath.Join(work, "slaves", "a", "frameworks", "f", "executors", "e", "runs", "c")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sandbox, "stdout"), []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(work, "secret")
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(sandbox, "escape")); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(work, nil))
	defer srv.Close()

	tests := []struct {
		name     string
		endpoint string
		path     string
		extra    string
		want     int
		wantBody string
	}{
		{"read all", "read", filepath.Join(sandbox, "stdout"), "&offset=0", 200, `{"data":"hello world","offset":0}`},
		{"read slice", "read", filepath.Join(sandbox, "stdout"), "&offset=6&length=3", 200, `{"data":"wor","offset":6}`},
		{"read length", "read", filepath.Join(sandbox, "stdout"), "&offset=-1", 200, `{"data":"","offset":11}`},
		{"read past end", "read", filepath.Join(sandbox, "stdout"), "&offset=100", 200, `{"data":"","offset":100}`},
		{"bad offset", "read", filepath.Join(sandbox, "stdout"), "&offset=x", 400, ""},
		{"negative offset", "read", filepath.Join(sandbox, "stdout"), "&offset=-2", 400, ""},
		{"bad length", "read", filepath.Join(sandbox, "stdout"), "&length=-5", 400, ""},
		{"read directory", "read", sandbox, "", 400, ""},
		{"missing path", "read", "", "", 400, ""},
		{"missing file", "read", filepath.Join(sandbox, "nope"), "", 404, ""},
		{"outside", "read", secret, "", 404, ""},
		{"dotdot", "read", sandbox + "/../../../../../../../secret", "", 404, ""},
		{"symlink escape", "read", filepath.Join(sandbox, "escape"), "", 404, ""},
		{"relative", "read", "slaves/a", "", 404, ""},
		{"download", "download", filepath.Join(sandbox, "stdout"), "", 200, "hello world"},
		{"download outside", "download", secret, "", 404, ""},
		{"browse file", "browse", filepath.Join(sandbox, "stdout"), "", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + "/files/" + tt.endpoint + "?path=" + url.QueryEscape(tt.path) + tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.wantBody != "" && string(trimNL(body)) != tt.wantBody {
				t.Fatalf("body %s, want %s", body, tt.wantBody)
			}
		})
	}

	t.Run("browse", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/files/browse?path=" + url.QueryEscape(sandbox))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var entries []FileInfo
		if err := json.NewDecoder(resp.Body).Decode(&entries); err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[1].Path != filepath.Join(sandbox, "stdout") || entries[1].Size != 11 {
			t.Fatalf("entries = %+v", entries)
		}
	})
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	return b
}
