package integration

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/integration/browsertest"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/resources"
	"github.com/agoracluster/agora/ui"
)

// BenchmarkWebUI measures the web UI in headless Chromium with a synthetic cluster: a
// stand-in for the master's /api/v1 answers SUBSCRIBE with SUBSCRIBED holding N agents and
// 10 tasks per agent (JSON in RecordIO, as the master encodes it) and keeps the stream open.
// It reports the time from opening the tasks view to the table drawn (load-ms: transfer, parse,
// state and first page), and per op the time the page takes to redraw the tasks view after
// a change (render-ms, measured in the page) and to apply a filter over every task
// (filter-ms), and once the agents' and the overview's redraw (agents-render-ms,
// overview-render-ms); load-ms is split into the SUBSCRIBED record received (received-ms), parsed
// (parse-ms) and folded into the page's state (apply-ms). The stand-in replaces the master only as a source of a large state: the real
// master's stream is what TestWebUI drives.
func BenchmarkWebUI(b *testing.B) {
	for _, agents := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("agents=%d/tasks=%d", agents, agents*10), func(b *testing.B) {
			benchWebUI(b, agents, 10)
		})
	}
}

func benchWebUI(b *testing.B, agents, tasksPerAgent int) {
	subscribed := syntheticSubscribed(b, agents, tasksPerAgent)
	h, err := ui.New()
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux, nil)
	stop := make(chan struct{}) // ends the open stream before the server closes
	mux.HandleFunc("/api/v1", func(w http.ResponseWriter, r *http.Request) {
		var call masterpb.Call
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(r.Body); err != nil || apicodec.JSON.Unmarshal(buf.Bytes(), &call) != nil {
			http.Error(w, "bad call", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", apicodec.MediaJSON)
		switch call.GetType() {
		case masterpb.Call_SUBSCRIBE:
			_, _ = w.Write(subscribed)
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		case masterpb.Call_GET_MASTER:
			_, _ = w.Write([]byte(`{"type":"GET_MASTER","get_master":{"master_info":{"id":"bench","ip":16777343,"port":5050,"hostname":"bench","version":"bench"}}}`))
		default:
			http.Error(w, "not in the benchmark", http.StatusNotImplemented)
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(stop)
	br := browsertest.New(b)

	total := agents * tasksPerAgent
	start := time.Now()
	br.Do(b, chromedp.Navigate(srv.URL+"/ui/#/tasks"))
	br.WaitFor(b, 5*time.Minute, fmt.Sprintf(`document.getElementById("tasks-count").textContent === "%d tasks"`, total), "the tasks view lists every task")
	load := time.Since(start)
	phases := browsertest.Eval[map[string]float64](b, br, `window.agoraUI.stream.timing`)

	var render, filter float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// A change (as after any event) invalidates the caches: the view sorts every task again.
		render += browsertest.Eval[float64](b, br, `(() => { agoraUI.state.version++; return agoraUI.render(); })()`)
		filter += browsertest.Eval[float64](b, br, `(() => {
			const f = document.getElementById("tasks-filter");
			const t0 = performance.now();
			f.value = "task-7-";
			f.dispatchEvent(new Event("input"));
			const ms = performance.now() - t0;
			f.value = "";
			f.dispatchEvent(new Event("input"));
			return ms;
		})()`)
	}
	b.StopTimer()
	// The other views that cover every agent or task, redrawn after a change.
	others := map[string]float64{}
	for _, view := range []string{"agents", "overview"} {
		hash := "#/" + view
		if view == "overview" {
			hash = "#/"
		}
		br.Do(b, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, hash)))
		others[view] = browsertest.Eval[float64](b, br, `(() => { agoraUI.state.version++; return agoraUI.render(); })()`)
	}
	b.ReportMetric(float64(load.Milliseconds()), "load-ms")
	b.ReportMetric(render/float64(b.N), "render-ms")
	b.ReportMetric(filter/float64(b.N), "filter-ms")
	b.ReportMetric(others["agents"], "agents-render-ms")
	b.ReportMetric(others["overview"], "overview-render-ms")
	b.ReportMetric(float64(len(subscribed))/(1<<20), "state-MiB")
	b.ReportMetric(phases["receivedMs"], "received-ms")
	b.ReportMetric(phases["parseMs"], "parse-ms")
	b.ReportMetric(phases["applyMs"], "apply-ms")
	if errs := br.Errors(); len(errs) > 0 {
		b.Errorf("console errors: %q", errs)
	}
}

// syntheticSubscribed is one RecordIO record of a SUBSCRIBED event with agents agents, each
// with tasksPerAgent running tasks of one framework.
func syntheticSubscribed(b *testing.B, agents, tasksPerAgent int) []byte {
	b.Helper()
	fwID := &mesos.FrameworkID{Value: proto.String("bench-framework")}
	agentRes := resources.MustParse("cpus:32;mem:131072;disk:1000000;ports:[31000-32000]").ToProto()
	taskRes := resources.MustParse("cpus:0.5;mem:256").ToProto()
	st := &masterpb.Response_GetState{
		GetAgents: &masterpb.Response_GetAgents{},
		GetFrameworks: &masterpb.Response_GetFrameworks{Frameworks: []*masterpb.Response_GetFrameworks_Framework{{
			FrameworkInfo: &mesos.FrameworkInfo{Id: fwID, Name: proto.String("bench"), User: proto.String("root")},
			Active:        proto.Bool(true), Connected: proto.Bool(true), Recovered: proto.Bool(false),
		}}},
		GetTasks:     &masterpb.Response_GetTasks{},
		GetExecutors: &masterpb.Response_GetExecutors{},
	}
	for a := range agents {
		id := &mesos.AgentID{Value: proto.String(fmt.Sprintf("bench-S%d", a))}
		host := fmt.Sprintf("10.%d.%d.%d", a>>16&255, a>>8&255, a&255)
		st.GetAgents.Agents = append(st.GetAgents.Agents, &masterpb.Response_GetAgents_Agent{
			AgentInfo: &mesos.AgentInfo{Id: id, Hostname: proto.String(host), Port: proto.Int32(5051), Resources: agentRes},
			Active:    proto.Bool(true), Version: proto.String("bench"), Pid: proto.String("slave(1)@" + host + ":5051"), TotalResources: agentRes,
		})
		for i := range tasksPerAgent {
			taskID := &mesos.TaskID{Value: proto.String(fmt.Sprintf("task-%d-%d", a, i))}
			st.GetTasks.Tasks = append(st.GetTasks.Tasks, &mesos.Task{
				Name: proto.String(taskID.GetValue()), TaskId: taskID, FrameworkId: fwID, AgentId: id,
				State: mesos.TaskState_TASK_RUNNING.Enum(), Resources: taskRes,
				Statuses: []*mesos.TaskStatus{{TaskId: taskID, AgentId: id, State: mesos.TaskState_TASK_RUNNING.Enum(), Timestamp: proto.Float64(1.7e9)}},
			})
		}
	}
	ev := &masterpb.Event{Type: masterpb.Event_SUBSCRIBED.Enum(), Subscribed: &masterpb.Event_Subscribed{GetState: st, HeartbeatIntervalSeconds: proto.Float64(15)}}
	body, err := apicodec.JSON.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	var out bytes.Buffer
	if err := recordio.NewWriter(&out).WriteRecord(body); err != nil {
		b.Fatal(err)
	}
	return out.Bytes()
}
