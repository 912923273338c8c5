package operatorapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	agentpb "github.com/agoracluster/agora/proto/mesos/v1/agent"
)

// source is a fixed Source.
type source struct{ err error }

func (s source) State(context.Context) (*agentpb.Response_GetState, error) {
	return &agentpb.Response_GetState{
		GetTasks: &agentpb.Response_GetTasks{LaunchedTasks: []*mesos.Task{{
			Name: proto.String("t"), TaskId: &mesos.TaskID{Value: proto.String("t1")}, FrameworkId: &mesos.FrameworkID{Value: proto.String("f")},
			AgentId: &mesos.AgentID{Value: proto.String("a")}, State: mesos.TaskState_TASK_RUNNING.Enum(),
		}}},
		GetExecutors:  &agentpb.Response_GetExecutors{},
		GetFrameworks: &agentpb.Response_GetFrameworks{Frameworks: []*agentpb.Response_GetFrameworks_Framework{{FrameworkInfo: &mesos.FrameworkInfo{User: proto.String("u"), Name: proto.String("n")}}}},
	}, s.err
}
func (s source) Info(context.Context) (*mesos.AgentInfo, error) {
	return &mesos.AgentInfo{Hostname: proto.String("h")}, s.err
}
func (s source) Containers(context.Context) ([]*agentpb.Response_GetContainers_Container, error) {
	return []*agentpb.Response_GetContainers_Container{{ContainerId: &mesos.ContainerID{Value: proto.String("c1")}, ExecutorId: &mesos.ExecutorID{Value: proto.String("e1")}}}, s.err
}
func (s source) Metrics(context.Context) (map[string]float64, error) {
	return map[string]float64{"slave/tasks_running": 1}, s.err
}
func (s source) Debug() bool { return false }

func post(t *testing.T, url string, c apicodec.Codec, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1", bytes.NewReader(body))
	req.Header.Set("Content-Type", c.ContentType())
	req.Header.Set("Accept", c.ContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func serve(t *testing.T, src Source) (*httptest.Server, string) {
	t.Helper()
	work := t.TempDir()
	sandbox := filepath.Join(work, "slaves", "a", "frameworks", "f", "executors", "e", "runs", "c")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sandbox, "stdout"), []byte("hello world"), 0o644); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&Handler{Src: src, WorkDir: work, Version: "9.9", Flags: map[string]string{"port": "5051"}}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, sandbox
}

func TestCalls(t *testing.T) {
	srv, sandbox := serve(t, source{})
	stdout := filepath.Join(sandbox, "stdout")
	for _, c := range []apicodec.Codec{apicodec.JSON, apicodec.Protobuf} {
		t.Run(c.String(), func(t *testing.T) {
			tests := []struct {
				call  *agentpb.Call
				check func(*agentpb.Response) bool
			}{
				{&agentpb.Call{Type: agentpb.Call_GET_HEALTH.Enum()}, func(r *agentpb.Response) bool { return r.GetGetHealth().GetHealthy() }},
				{&agentpb.Call{Type: agentpb.Call_GET_VERSION.Enum()}, func(r *agentpb.Response) bool { return r.GetGetVersion().GetVersionInfo().GetVersion() == "9.9" }},
				{&agentpb.Call{Type: agentpb.Call_GET_FLAGS.Enum()}, func(r *agentpb.Response) bool { return r.GetGetFlags().GetFlags()[0].GetValue() == "5051" }},
				{&agentpb.Call{Type: agentpb.Call_GET_METRICS.Enum()}, func(r *agentpb.Response) bool {
					return r.GetGetMetrics().GetMetrics()[0].GetName() == "slave/tasks_running"
				}},
				{&agentpb.Call{Type: agentpb.Call_GET_LOGGING_LEVEL.Enum()}, func(r *agentpb.Response) bool { return r.GetLoggingLevel != nil }},
				{&agentpb.Call{Type: agentpb.Call_GET_STATE.Enum()}, func(r *agentpb.Response) bool {
					return len(r.GetGetState().GetGetTasks().GetLaunchedTasks()) == 1
				}},
				{&agentpb.Call{Type: agentpb.Call_GET_TASKS.Enum()}, func(r *agentpb.Response) bool { return len(r.GetGetTasks().GetLaunchedTasks()) == 1 }},
				{&agentpb.Call{Type: agentpb.Call_GET_FRAMEWORKS.Enum()}, func(r *agentpb.Response) bool { return len(r.GetGetFrameworks().GetFrameworks()) == 1 }},
				{&agentpb.Call{Type: agentpb.Call_GET_EXECUTORS.Enum()}, func(r *agentpb.Response) bool { return r.GetExecutors != nil }},
				{&agentpb.Call{Type: agentpb.Call_GET_AGENT.Enum()}, func(r *agentpb.Response) bool { return r.GetGetAgent().GetAgentInfo().GetHostname() == "h" }},
				{&agentpb.Call{Type: agentpb.Call_GET_CONTAINERS.Enum()}, func(r *agentpb.Response) bool {
					return r.GetGetContainers().GetContainers()[0].GetContainerId().GetValue() == "c1"
				}},
				{&agentpb.Call{Type: agentpb.Call_LIST_FILES.Enum(), ListFiles: &agentpb.Call_ListFiles{Path: proto.String(sandbox)}}, func(r *agentpb.Response) bool {
					fis := r.GetListFiles().GetFileInfos()
					return len(fis) == 1 && fis[0].GetPath() == stdout && fis[0].GetSize() == 11 && fis[0].GetMode()&0o777 == 0o644
				}},
				{&agentpb.Call{Type: agentpb.Call_READ_FILE.Enum(), ReadFile: &agentpb.Call_ReadFile{Path: proto.String(stdout), Offset: proto.Uint64(6), Length: proto.Uint64(3)}}, func(r *agentpb.Response) bool {
					return string(r.GetReadFile().GetData()) == "wor" && r.GetReadFile().GetSize() == 11
				}},
				{&agentpb.Call{Type: agentpb.Call_READ_FILE.Enum(), ReadFile: &agentpb.Call_ReadFile{Path: proto.String(stdout), Offset: proto.Uint64(11)}}, func(r *agentpb.Response) bool {
					return len(r.GetReadFile().GetData()) == 0 && r.GetReadFile().GetSize() == 11
				}},
			}
			for _, tt := range tests {
				body, err := c.Marshal(tt.call)
				if err != nil {
					t.Fatal(err)
				}
				code, b := post(t, srv.URL, c, body)
				if code != http.StatusOK {
					t.Errorf("%s: %d %s", tt.call.GetType(), code, b)
					continue
				}
				resp := &agentpb.Response{}
				if err := c.Unmarshal(b, resp); err != nil {
					t.Fatalf("%s: %v", tt.call.GetType(), err)
				}
				if !tt.check(resp) {
					t.Errorf("%s: unexpected answer %v", tt.call.GetType(), resp)
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	srv, sandbox := serve(t, source{})
	stdout := filepath.Join(sandbox, "stdout")
	tests := []struct {
		name, body string
		code       int
		want       string
	}{
		{"malformed", `{"type":`, 400, "Failed to parse"},
		{"no type", `{}`, 400, "'type'"},
		{"unknown type", `{"type":"GET_EVERYTHING"}`, 400, "GET_EVERYTHING"},
		{"list without path", `{"type":"LIST_FILES"}`, 400, "list_files.path"},
		{"read without offset", `{"type":"READ_FILE","read_file":{"path":"` + stdout + `"}}`, 400, "offset not set"},
		{"read past the end", `{"type":"READ_FILE","read_file":{"path":"` + stdout + `","offset":12}}`, 400, "beyond the end"},
		{"read outside the sandboxes", `{"type":"READ_FILE","read_file":{"path":"/etc/hostname","offset":0}}`, 404, "/etc/hostname"},
		{"read escaping with ..", `{"type":"READ_FILE","read_file":{"path":"` + sandbox + `/../../../../../../../../etc/hostname","offset":0}}`, 404, "no such file"},
		{"read a directory", `{"type":"READ_FILE","read_file":{"path":"` + sandbox + `","offset":0}}`, 400, "is a directory"},
		{"list a file", `{"type":"LIST_FILES","list_files":{"path":"` + stdout + `"}}`, 400, "not a directory"},
		{"relative path", `{"type":"LIST_FILES","list_files":{"path":"slaves"}}`, 404, "slaves"},
		{"not built", `{"type":"LAUNCH_NESTED_CONTAINER_SESSION"}`, 501, "LAUNCH_NESTED_CONTAINER_SESSION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := post(t, srv.URL, apicodec.JSON, []byte(tt.body))
			if code != tt.code || !strings.Contains(string(b), tt.want) {
				t.Errorf("got %d %q, want %d containing %q", code, b, tt.code, tt.want)
			}
		})
	}
}

func TestStoppedAgent(t *testing.T) {
	srv, _ := serve(t, source{err: ErrUnavailable})
	code, b := post(t, srv.URL, apicodec.JSON, []byte(`{"type":"GET_STATE"}`))
	if code != http.StatusServiceUnavailable {
		t.Errorf("GET_STATE of a stopped agent: %d %s", code, b)
	}
	resp, err := http.Get(srv.URL + "/metrics/snapshot")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/metrics/snapshot of a stopped agent: %s", resp.Status)
	}
}

func TestLegacyEndpoints(t *testing.T) {
	srv, _ := serve(t, source{})
	for path, want := range map[string]string{
		"/metrics/snapshot": `{"slave/tasks_running":1}`,
		"/containers":       `[{"container_id":"c1","executor_id":"e1","executor_name":"","framework_id":""}]`,
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(b) != want {
			t.Errorf("%s: %s %s, want %s", path, resp.Status, b, want)
		}
	}
}

// FuzzCall: no body makes the agent's operator API fail with a 5xx or read outside the
// sandboxes.
func FuzzCall(f *testing.F) {
	f.Add([]byte(`{"type":"READ_FILE","read_file":{"path":"/etc/passwd","offset":0}}`), true)
	f.Add([]byte(`{"type":"LIST_FILES","list_files":{"path":"/"}}`), true)
	f.Add([]byte(`{"type":"READ_FILE","read_file":{"path":"SANDBOX/stdout","offset":18446744073709551615,"length":18446744073709551615}}`), true)
	b, _ := proto.Marshal(&agentpb.Call{Type: agentpb.Call_GET_STATE.Enum()})
	f.Add(b, false)
	mux := http.NewServeMux()
	work := f.TempDir()
	sandbox := filepath.Join(work, "slaves", "a", "frameworks", "f", "executors", "e", "runs", "c")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sandbox, "stdout"), []byte("hello"), 0o644); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "secret"), []byte("SECRET"), 0o644); err != nil {
		f.Fatal(err)
	}
	(&Handler{Src: source{}, WorkDir: work}).Register(mux)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		body = bytes.ReplaceAll(body, []byte("SANDBOX"), []byte(sandbox))
		body = bytes.ReplaceAll(body, []byte("WORK"), []byte(work))
		c := apicodec.Protobuf
		if asJSON {
			c = apicodec.JSON
		}
		req := httptest.NewRequest(http.MethodPost, "/api/v1", bytes.NewReader(body))
		req.Header.Set("Content-Type", c.ContentType())
		req.Header.Set("Accept", c.ContentType())
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK {
			return
		}
		resp := &agentpb.Response{}
		if err := c.Unmarshal(rec.Body.Bytes(), resp); err != nil {
			t.Fatalf("answer does not decode: %v", err)
		}
		if bytes.Contains(resp.GetReadFile().GetData(), []byte("SECRET")) {
			t.Fatalf("read outside the sandboxes: %q", body)
		}
	})
}
