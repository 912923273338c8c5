package marathon

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// eventStream collects what /v2/events sends.
type eventStream struct {
	mu   sync.Mutex
	got  strings.Builder
	done chan struct{}
}

// subscribeEvents opens /v2/events with the given event_type filters; the stream is closed
// and its reader waited for when the test ends.
func (h *harness) subscribeEvents(types ...string) *eventStream {
	h.t.Helper()
	q := ""
	for i, typ := range types {
		if i == 0 {
			q += "?"
		} else {
			q += "&"
		}
		q += "event_type=" + typ
	}
	req, err := http.NewRequest(http.MethodGet, h.base+"/v2/events"+q, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("events = %d", resp.StatusCode)
	}
	s := &eventStream{done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			s.mu.Lock()
			s.got.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	h.t.Cleanup(func() { _ = resp.Body.Close(); <-s.done })
	return s
}

func (s *eventStream) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.String()
}

// waitFor waits until the stream has sent want.
func (s *eventStream) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.text(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("events never sent %s; got %s", want, s.text())
		}
		select {
		case <-s.done:
			t.Fatalf("event stream ended without %s; got %s", want, s.text())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
