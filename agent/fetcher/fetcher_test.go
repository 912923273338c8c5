package fetcher

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// entry is one archive member for the test archive builders.
type entry struct {
	name, body, link string
	typ              byte // tar.TypeReg, TypeDir, TypeSymlink, TypeLink
	mode             int64
}

func tarBytes(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: mode, Size: int64(len(e.body))}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipBytes(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch e.typ {
		case tar.TypeSymlink:
			h.SetMode(fs.ModeSymlink | 0o777)
		case tar.TypeDir:
			h.SetMode(fs.ModeDir | 0o755)
		default:
			h.SetMode(0o644)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		content := e.body
		if e.typ == tar.TypeSymlink {
			content = e.link
		}
		if _, err := w.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// files serves name -> content over HTTP; unknown names are 404.
func serve(t *testing.T, files map[string][]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newSandbox returns a sandbox inside a parent directory that must stay untouched; the
// returned check asserts that nothing but the sandbox exists in the parent.
func newSandbox(t *testing.T) (string, func()) {
	t.Helper()
	parent := t.TempDir()
	sandbox := filepath.Join(parent, "sandbox")
	if err := os.Mkdir(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	return sandbox, func() {
		t.Helper()
		des, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		if len(des) != 1 || des[0].Name() != "sandbox" {
			var names []string
			for _, d := range des {
				names = append(names, d.Name())
			}
			t.Errorf("parent of the sandbox was written to: %v", names)
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFetchHTTP(t *testing.T) {
	srv := serve(t, map[string][]byte{
		"/bin/tool":   []byte("#!/bin/sh\necho hi\n"),
		"/data.txt":   []byte("data"),
		"/plain.conf": []byte("conf"),
	})
	tests := []struct {
		name     string
		uri      URI
		wantFile string
		wantBody string
		wantMode fs.FileMode
	}{
		{"basename", URI{Value: srv.URL + "/data.txt"}, "data.txt", "data", 0o644},
		{"output file", URI{Value: srv.URL + "/data.txt", OutputFile: "conf/app.txt"}, "conf/app.txt", "data", 0o644},
		{"executable", URI{Value: srv.URL + "/bin/tool", Executable: true}, "tool", "#!/bin/sh\necho hi\n", 0o755},
		{"extract of non-archive keeps file", URI{Value: srv.URL + "/plain.conf", Extract: true}, "plain.conf", "conf", 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox, check := newSandbox(t)
			if err := FetchURIs(context.Background(), []URI{tt.uri}, sandbox, Options{}); err != nil {
				t.Fatal(err)
			}
			got := filepath.Join(sandbox, tt.wantFile)
			if body := readFile(t, got); body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
			st, err := os.Stat(got)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != tt.wantMode {
				t.Errorf("mode = %v, want %v", st.Mode().Perm(), tt.wantMode)
			}
			if _, err := os.Stat(got + ".fetching"); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("temporary file left behind: %v", err)
			}
			check()
		})
	}
}

func TestFetchProto(t *testing.T) {
	srv := serve(t, map[string][]byte{"/a.tgz": gzipBytes(t, tarBytes(t, entry{name: "a/x.txt", body: "x"}))})
	sandbox, check := newSandbox(t)
	// extract is unset: the Mesos default (true) applies.
	uris := []*mesos.CommandInfo_URI{{Value: proto.String(srv.URL + "/a.tgz")}}
	if err := Fetch(context.Background(), uris, sandbox); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(sandbox, "a/x.txt")); got != "x" {
		t.Errorf("a/x.txt = %q", got)
	}
	check()
}

func TestFetchLocal(t *testing.T) {
	src := filepath.Join(t.TempDir(), "local.sh")
	if err := os.WriteFile(src, []byte("local"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		uri  URI
		want string
	}{
		{"absolute path", URI{Value: src}, "local.sh"},
		{"file URI", URI{Value: "file://" + src}, "local.sh"},
		{"file URI with output file", URI{Value: "file://" + src, OutputFile: "bin/run"}, "bin/run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox, check := newSandbox(t)
			if err := FetchURIs(context.Background(), []URI{tt.uri}, sandbox, Options{}); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, filepath.Join(sandbox, tt.want)); got != "local" {
				t.Errorf("got %q", got)
			}
			check()
		})
	}
}

func TestFetchErrors(t *testing.T) {
	srv := serve(t, map[string][]byte{"/data.txt": []byte("data"), "/": []byte("index")})
	dir := t.TempDir()
	tests := []struct {
		name    string
		uri     URI
		wantErr []string
		is      error
	}{
		{"404 names URI and status", URI{Value: srv.URL + "/missing"}, []string{srv.URL + "/missing", "404"}, nil},
		{"unsupported scheme", URI{Value: "hdfs://nn/x"}, []string{"hdfs"}, ErrUnsupported},
		{"relative path", URI{Value: "some/file"}, []string{"relative"}, ErrUnsupported},
		{"file URI with host", URI{Value: "file://otherhost/etc/passwd"}, []string{"otherhost"}, ErrUnsupported},
		{"missing local file", URI{Value: "/nonexistent/file"}, []string{"/nonexistent/file"}, fs.ErrNotExist},
		{"directory", URI{Value: dir}, []string{"not a regular file"}, nil},
		{"output file escapes", URI{Value: srv.URL + "/data.txt", OutputFile: "../evil"}, []string{"escapes"}, nil},
		{"output file escapes after clean", URI{Value: srv.URL + "/data.txt", OutputFile: "a/../../evil"}, []string{"escapes"}, nil},
		{"absolute output file", URI{Value: srv.URL + "/data.txt", OutputFile: "/tmp/evil"}, []string{"absolute"}, nil},
		{"no file name", URI{Value: srv.URL + "/"}, []string{"output_file"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox, check := newSandbox(t)
			err := FetchURIs(context.Background(), []URI{tt.uri}, sandbox, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			check()
		})
	}
}

func TestFetchSizeLimitAndContext(t *testing.T) {
	srv := serve(t, map[string][]byte{
		"/big":     bytes.Repeat([]byte("x"), 1000),
		"/bomb.gz": gzipBytes(t, bytes.Repeat([]byte("x"), 1<<20)),
	})
	sandbox, check := newSandbox(t)
	err := FetchURIs(context.Background(), []URI{{Value: srv.URL + "/big"}}, sandbox, Options{MaxBytes: 999})
	if !errors.Is(err, errTooLarge) {
		t.Errorf("big file: err = %v, want size limit", err)
	}
	err = FetchURIs(context.Background(), []URI{{Value: srv.URL + "/bomb.gz", Extract: true}}, sandbox, Options{MaxBytes: 64 << 10})
	if !errors.Is(err, errTooLarge) {
		t.Errorf("gzip bomb: err = %v, want size limit", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = FetchURIs(ctx, []URI{{Value: srv.URL + "/big"}}, sandbox, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v", err)
	}
	check()
}

func TestExtract(t *testing.T) {
	bz2, err := os.ReadFile("testdata/hello.tar.bz2")
	if err != nil {
		t.Fatal(err)
	}
	archive := tarBytes(t,
		entry{name: "./", typ: tar.TypeDir, mode: 0o755},
		entry{name: "./app/", typ: tar.TypeDir, mode: 0o755},
		entry{name: "./app/run.sh", body: "run", mode: 0o755},
		entry{name: "app/conf/c.txt", body: "c"},
		entry{name: "app/link", typ: tar.TypeSymlink, link: "run.sh"},
		entry{name: "app/hard", typ: tar.TypeLink, link: "app/conf/c.txt"},
	)
	srv := serve(t, map[string][]byte{
		"/a.tar":         archive,
		"/a.tar.gz":      gzipBytes(t, archive),
		"/a.tgz":         gzipBytes(t, archive),
		"/hello.tar.bz2": bz2,
		"/a.zip": zipBytes(t,
			entry{name: "app/", typ: tar.TypeDir},
			entry{name: "app/run.sh", body: "run"},
			entry{name: "app/conf/c.txt", body: "c"},
			entry{name: "app/link", typ: tar.TypeSymlink, link: "run.sh"},
		),
		"/notes.txt.gz": gzipBytes(t, []byte("notes")),
		"/a.tar.xz":     []byte("not really xz"),
	})
	tests := []struct {
		name  string
		uri   URI
		files map[string]string // sandbox path -> content
	}{
		{"tar", URI{Value: srv.URL + "/a.tar", Extract: true}, map[string]string{"app/run.sh": "run", "app/conf/c.txt": "c", "app/link": "run", "app/hard": "c"}},
		{"tar.gz", URI{Value: srv.URL + "/a.tar.gz", Extract: true}, map[string]string{"app/run.sh": "run", "app/link": "run"}},
		{"tgz", URI{Value: srv.URL + "/a.tgz", Extract: true}, map[string]string{"app/conf/c.txt": "c"}},
		{"tar.bz2", URI{Value: srv.URL + "/hello.tar.bz2", Extract: true}, map[string]string{"dir/hello.txt": "hello bz2\n"}},
		{"zip", URI{Value: srv.URL + "/a.zip", Extract: true}, map[string]string{"app/run.sh": "run", "app/conf/c.txt": "c", "app/link": "run"}},
		{"gz", URI{Value: srv.URL + "/notes.txt.gz", Extract: true}, map[string]string{"notes.txt": "notes"}},
		{"output file names the archive", URI{Value: srv.URL + "/a.tgz", Extract: true, OutputFile: "pkg/b.tar.gz"}, map[string]string{"app/run.sh": "run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sandbox, check := newSandbox(t)
			if err := FetchURIs(context.Background(), []URI{tt.uri}, sandbox, Options{}); err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.files {
				if got := readFile(t, filepath.Join(sandbox, name)); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			check()
		})
	}

	t.Run("executable is not extracted", func(t *testing.T) {
		sandbox, check := newSandbox(t)
		if err := FetchURIs(context.Background(), []URI{{Value: srv.URL + "/a.tgz", Extract: true, Executable: true}}, sandbox, Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(sandbox, "app")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("app/ exists: %v", err)
		}
		check()
	})
	t.Run("xz is unsupported", func(t *testing.T) {
		sandbox, check := newSandbox(t)
		err := FetchURIs(context.Background(), []URI{{Value: srv.URL + "/a.tar.xz", Extract: true}}, sandbox, Options{})
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("err = %v, want ErrUnsupported", err)
		}
		check()
	})
}

func TestExtractMalicious(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content func(t *testing.T) []byte
		wantErr string
	}{
		{"tar dotdot", "a.tar", func(t *testing.T) []byte { return tarBytes(t, entry{name: "../evil", body: "x"}) }, "escapes"},
		{"tar nested dotdot", "a.tar", func(t *testing.T) []byte { return tarBytes(t, entry{name: "a/../../evil", body: "x"}) }, "escapes"},
		{"tar absolute", "a.tar", func(t *testing.T) []byte { return tarBytes(t, entry{name: "/tmp/evil", body: "x"}) }, "absolute"},
		{"tar absolute symlink", "a.tar", func(t *testing.T) []byte {
			return tarBytes(t, entry{name: "l", typ: tar.TypeSymlink, link: "/etc"})
		}, "relative"},
		{"tar escaping symlink", "a.tar", func(t *testing.T) []byte {
			return tarBytes(t, entry{name: "d/l", typ: tar.TypeSymlink, link: "../../evil"})
		}, "escapes"},
		{"tar write through symlink dir", "a.tar", func(t *testing.T) []byte {
			return tarBytes(t,
				entry{name: "self", typ: tar.TypeSymlink, link: "."},
				entry{name: "self/l", typ: tar.TypeSymlink, link: ".."},
			)
		}, "through symlink"},
		{"tar symlink then file through it", "a.tar", func(t *testing.T) []byte {
			return tarBytes(t,
				entry{name: "sub", typ: tar.TypeDir, mode: 0o755},
				entry{name: "up", typ: tar.TypeSymlink, link: "sub"},
				entry{name: "up/evil", body: "x"},
			)
		}, "through symlink"},
		{"tar hardlink outside", "a.tar", func(t *testing.T) []byte {
			return tarBytes(t, entry{name: "h", typ: tar.TypeLink, link: "../../../etc/passwd"})
		}, "escapes"},
		{"zip dotdot", "a.zip", func(t *testing.T) []byte { return zipBytes(t, entry{name: "../evil", body: "x"}) }, "escapes"},
		{"zip escaping symlink", "a.zip", func(t *testing.T) []byte {
			return zipBytes(t, entry{name: "l", typ: tar.TypeSymlink, link: "../evil"})
		}, "escapes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, map[string][]byte{"/" + tt.file: tt.content(t)})
			sandbox, check := newSandbox(t)
			err := FetchURIs(context.Background(), []URI{{Value: srv.URL + "/" + tt.file, Extract: true}}, sandbox, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want one mentioning %q", err, tt.wantErr)
			}
			check()
			_ = filepath.WalkDir(sandbox, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.Type()&fs.ModeSymlink == 0 {
					return nil
				}
				target, _ := os.Readlink(p)
				resolved := filepath.Clean(filepath.Join(filepath.Dir(p), target))
				if !strings.HasPrefix(resolved, sandbox) {
					t.Errorf("symlink %s -> %s escapes", p, target)
				}
				return nil
			})
		})
	}
}
