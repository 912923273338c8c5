package integration

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

// jsonScheduler is a scheduler written the way a non-Go client would: hand-written JSON
// calls, RecordIO parsed by hand, events decoded as plain JSON.
type jsonScheduler struct {
	t        *testing.T
	url      string
	streamID string
	events   chan map[string]any
}

func subscribeJSON(t *testing.T, masterURL, body string) *jsonScheduler {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, masterURL+"/api/v1/scheduler", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("SUBSCRIBE: %s: %s", resp.Status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("event stream Content-Type = %q, want application/json", ct)
	}
	s := &jsonScheduler{t: t, url: masterURL + "/api/v1/scheduler", streamID: resp.Header.Get("Mesos-Stream-Id"), events: make(chan map[string]any, 100)}
	if s.streamID == "" {
		t.Fatal("SUBSCRIBE response has no Mesos-Stream-Id header")
	}
	t.Cleanup(func() { resp.Body.Close() })
	go func() {
		defer close(s.events)
		r := bufio.NewReader(resp.Body)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(line))
			if err != nil {
				return
			}
			rec := make([]byte, n)
			if _, err := io.ReadFull(r, rec); err != nil {
				return
			}
			var ev map[string]any
			if err := json.Unmarshal(rec, &ev); err != nil {
				return
			}
			s.events <- ev
		}
	}()
	return s
}

// next returns the next event of type typ, skipping heartbeats and others.
func (s *jsonScheduler) next(typ string) map[string]any {
	s.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("event stream ended while waiting for %s", typ)
			}
			if ev["type"] == typ {
				return ev
			}
		case <-timeout:
			s.t.Fatalf("no %s event within 30s", typ)
		}
	}
}

// call posts a JSON call and returns the status code and body.
func (s *jsonScheduler) call(body string) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Mesos-Stream-Id", s.streamID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *jsonScheduler) mustCall(body string) {
	s.t.Helper()
	if code, msg := s.call(body); code != http.StatusAccepted {
		s.t.Fatalf("call %s: %d %s", body, code, msg)
	}
}

// get walks a decoded JSON value: get(ev, "subscribed", "framework_id", "value").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

// TestRawJSONScheduler drives /api/v1/scheduler with hand-written JSON as a Mesos v1 client
// in any language would: subscribe, take an offer, launch, acknowledge, reconcile, tear down.
func TestRawJSONScheduler(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	s := subscribeJSON(t, c.MasterURL(), `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"root","name":"raw-json","capabilities":[{"type":"PARTITION_AWARE"}]}}}`)
	sub := s.next("SUBSCRIBED")
	fid, _ := get(sub, "subscribed", "framework_id", "value").(string)
	if fid == "" {
		t.Fatalf("SUBSCRIBED without framework id: %v", sub)
	}
	if hb, _ := get(sub, "subscribed", "heartbeat_interval_seconds").(float64); hb <= 0 {
		t.Errorf("heartbeat_interval_seconds = %v, want > 0", get(sub, "subscribed", "heartbeat_interval_seconds"))
	}

	// A call with a wrong stream id is refused.
	bad := *s
	bad.streamID = "not-the-stream"
	if code, _ := bad.call(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"REVIVE"}`, fid)); code != http.StatusBadRequest {
		t.Errorf("call with a wrong Mesos-Stream-Id: %d, want 400", code)
	}

	offers := s.next("OFFERS")
	offerID, _ := get(offers, "offers", "offers", 0, "id", "value").(string)
	agentID, _ := get(offers, "offers", "offers", 0, "agent_id", "value").(string)
	if offerID == "" || agentID == "" {
		t.Fatalf("OFFERS without offer or agent id: %v", offers)
	}
	if get(offers, "offers", "offers", 0, "hostname") == nil {
		t.Errorf("offer without hostname: %v", offers)
	}
	s.mustCall(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"ACCEPT","accept":{
		"offer_ids":[{"value":%q}],
		"operations":[{"type":"LAUNCH","launch":{"task_infos":[{
			"name":"raw","task_id":{"value":"raw-1"},"agent_id":{"value":%q},
			"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}},{"name":"mem","type":"SCALAR","scalar":{"value":32}}],
			"command":{"shell":true,"value":"echo raw"}}]}}],
		"filters":{"refuse_seconds":1}}}`, fid, offerID, agentID))

	// Updates arrive in order; each is acknowledged with its uuid, as the client must.
	var states []string
	for len(states) == 0 || states[len(states)-1] != "TASK_FINISHED" {
		ev := s.next("UPDATE")
		status := get(ev, "update", "status")
		if get(status, "task_id", "value") != "raw-1" {
			t.Fatalf("update for an unexpected task: %v", ev)
		}
		state, _ := get(status, "state").(string)
		states = append(states, state)
		if uuid, ok := get(status, "uuid").(string); ok {
			s.mustCall(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"ACKNOWLEDGE","acknowledge":{"agent_id":{"value":%q},"task_id":{"value":"raw-1"},"uuid":%q}}`, fid, agentID, uuid))
		}
		if len(states) > 5 {
			break
		}
	}
	if got := strings.Join(states, ","); got != "TASK_STARTING,TASK_RUNNING,TASK_FINISHED" {
		t.Errorf("states = %s, want TASK_STARTING,TASK_RUNNING,TASK_FINISHED", got)
	}

	// Explicit reconciliation of an unknown task answers TASK_UNKNOWN (partition-aware).
	s.mustCall(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"RECONCILE","reconcile":{"tasks":[{"task_id":{"value":"never-launched"}}]}}`, fid))
	ev := s.next("UPDATE")
	if got := get(ev, "update", "status", "state"); got != "TASK_UNKNOWN" {
		t.Errorf("reconcile of an unknown task: %v, want TASK_UNKNOWN", got)
	}
	if got := get(ev, "update", "status", "reason"); got != "REASON_RECONCILIATION" {
		t.Errorf("reconcile reason = %v, want REASON_RECONCILIATION", got)
	}

	// Malformed JSON gets 400 with a message; the framework is unaffected.
	if code, msg := s.call(`{"framework_id":`); code != http.StatusBadRequest || msg == "" {
		t.Errorf("malformed call: %d %q, want 400 with a message", code, msg)
	}

	s.mustCall(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"TEARDOWN"}`, fid))
	// After TEARDOWN the framework is gone: its calls are refused.
	poll.Eventually(t, 10*time.Second, func() error {
		if code, _ := s.call(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"REVIVE"}`, fid)); code == http.StatusAccepted {
			return fmt.Errorf("REVIVE after TEARDOWN accepted")
		}
		return nil
	})
}
