package marathon

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/poll"
)

// TestEventSubscriptionsHTTPCallback drives /v2/eventSubscriptions as Marathon's clients
// do: subscribe a real HTTP receiver, see it in the list and in /v2/info, receive the
// events of an app's creation, unsubscribe.
func TestEventSubscriptionsHTTPCallback(t *testing.T) {
	var mu sync.Mutex
	var got []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		var ev struct{ EventType string }
		_ = json.Unmarshal(b, &ev)
		mu.Lock()
		got = append(got, ev.EventType)
		mu.Unlock()
	}))
	defer rcv.Close()
	h := newHarness(t, func(c *Config) { c.EventSubscriber = "http_callback" })
	q := "?callbackUrl=" + url.QueryEscape(rcv.URL+"/cb")
	resp, body := h.do(http.MethodPost, "/v2/eventSubscriptions"+q, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"eventType":"subscribe_event"`) ||
		!strings.Contains(body, `"callbackUrl":"`+rcv.URL+`/cb"`) || !strings.Contains(body, `"clientIp":"127.0.0.1"`) {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	if _, body = h.do(http.MethodGet, "/v2/eventSubscriptions", ""); body != `{"callbackUrls":["`+rcv.URL+`/cb"]}` {
		t.Fatalf("list: %s", body)
	}
	if _, body = h.do(http.MethodGet, "/v2/info", ""); !strings.Contains(body, `"event_subscriber":{"http_endpoints":[],"type":"http_callback"}`) {
		t.Fatalf("info: %s", body)
	}
	if resp, body = h.do(http.MethodPost, "/v2/apps", `{"id":"/cb-app","cmd":"sleep 100","cpus":0.1,"mem":16}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	poll.Eventually(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(got, "api_post_event") || !slices.Contains(got, "deployment_info") {
			return io.ErrNoProgress
		}
		return nil
	})
	if resp, body = h.do(http.MethodDelete, "/v2/eventSubscriptions"+q, ""); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"eventType":"unsubscribe_event"`) {
		t.Fatalf("unsubscribe: %d %s", resp.StatusCode, body)
	}
	if _, body = h.do(http.MethodGet, "/v2/eventSubscriptions", ""); body != `{"callbackUrls":[]}` {
		t.Fatalf("list after unsubscribe: %s", body)
	}
	for _, bad := range []string{"", "?callbackUrl=ftp://x/y", "?callbackUrl=nohost"} {
		if resp, body = h.do(http.MethodPost, "/v2/eventSubscriptions"+bad, ""); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("POST %q: %d %s; want 400", bad, resp.StatusCode, body)
		}
	}
}

// TestEventSubscriptionsOff: without --event_subscriber http_callback the endpoint
// answers Marathon's 400.
func TestEventSubscriptionsOff(t *testing.T) {
	h := newHarness(t)
	resp, body := h.do(http.MethodGet, "/v2/eventSubscriptions", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, `--event_subscriber http_callback`) {
		t.Fatalf("GET: %d %s", resp.StatusCode, body)
	}
}
