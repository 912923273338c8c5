package events

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/poll"

	"go.uber.org/zap/zaptest"
)

// sseFrame is one SSE block: an event with data, or a comment.
type sseFrame struct {
	event, data, comment string
}

func readFrame(t *testing.T, br *bufio.Reader) (sseFrame, error) {
	t.Helper()
	var f sseFrame
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return f, err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "":
			return f, nil
		case strings.HasPrefix(line, ":"):
			f.comment = line
		case strings.HasPrefix(line, "event: "):
			f.event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			f.data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected SSE line %q", line)
		}
	}
}

// nextEvent skips keep-alive comments.
func nextEvent(t *testing.T, br *bufio.Reader) sseFrame {
	t.Helper()
	for {
		f, err := readFrame(t, br)
		if err != nil {
			t.Fatalf("read SSE: %v", err)
		}
		if f.event != "" {
			return f
		}
	}
}

type stream struct {
	resp   *http.Response
	br     *bufio.Reader
	cancel context.CancelFunc
}

func startServer(t *testing.T, b *Bus) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(b, zaptest.NewLogger(t)))
	t.Cleanup(srv.Close)
	return srv
}

func open(t *testing.T, srv *httptest.Server, query string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v2/events"+query, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	s := &stream{resp: resp, br: bufio.NewReader(resp.Body), cancel: cancel}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("status %d content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return s
}

func TestHandlerStreamsEventsWithAttach(t *testing.T) {
	b := newBus(t, func(c *Config) { c.KeepAlive = 0 })
	srv := startServer(t, b)
	s := open(t, srv, "")
	f := nextEvent(t, s.br)
	if f.event != TypeEventStreamAttached || !strings.Contains(f.data, `"remoteAddress":"127.0.0.1"`) {
		t.Fatalf("first frame = %+v, want its own event_stream_attached", f)
	}
	b.Publish(NewAppTerminated("/a", t0))
	f = nextEvent(t, s.br)
	if f.event != TypeAppTerminated || f.data != `{"appId":"/a","eventType":"app_terminated_event","timestamp":"2024-03-01T22:29:30.158Z"}` {
		t.Fatalf("frame = %+v", f)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(f.data), &v); err != nil {
		t.Fatalf("data is not JSON: %v", err)
	}
}

func TestHandlerFilters(t *testing.T) {
	b := newBus(t, func(c *Config) { c.KeepAlive = 0 })
	srv := startServer(t, b)
	s := open(t, srv, "?event_type=status_update_event&event_type=deployment_success")
	b.Publish(NewAppTerminated("/a", t0))
	b.Publish(NewStatusUpdate("S", "t1", "TASK_RUNNING", "", "/a", "h", nil, []int{1}, "v", t0))
	b.Publish(NewEventStreamAttached("10.0.0.9", t0))
	b.Publish(NewStatusUpdate("S", "t2", "TASK_FAILED", "", "/a", "h", nil, nil, "v", t0))
	for _, want := range []string{`"taskId":"t1"`, `"taskId":"t2"`} {
		f := nextEvent(t, s.br)
		if f.event != TypeStatusUpdate || !strings.Contains(f.data, want) {
			t.Fatalf("frame = %+v, want status update with %s", f, want)
		}
	}
}

func TestHandlerKeepAlive(t *testing.T) {
	b := newBus(t, func(c *Config) { c.KeepAlive = 5 * time.Millisecond })
	srv := startServer(t, b)
	s := open(t, srv, "?event_type=app_terminated_event")
	for i := 0; i < 3; i++ {
		f, err := readFrame(t, s.br)
		if err != nil {
			t.Fatal(err)
		}
		if f.comment != ":" || f.event != "" {
			t.Fatalf("frame %d = %+v, want a keep-alive comment", i, f)
		}
	}
}

func TestHandlerClientDisconnectCleansUp(t *testing.T) {
	b := newBus(t, func(c *Config) { c.KeepAlive = 0 })
	watch, _ := b.Subscribe([]string{TypeEventStreamDetached})
	srv := startServer(t, b)
	s := open(t, srv, "")
	nextEvent(t, s.br) // attached
	if b.Subscribers() != 2 {
		t.Fatalf("subscribers = %d, want 2", b.Subscribers())
	}
	s.cancel()
	s.resp.Body.Close()
	select {
	case m := <-watch.C():
		if !strings.Contains(string(m.Data), `"remoteAddress":"127.0.0.1"`) {
			t.Fatalf("detached = %s", m.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event_stream_detached after the client left")
	}
	poll.Eventually(t, 5*time.Second, func() bool { return b.Subscribers() == 1 }, "the stream's subscription to end")
}

func TestHandlerEndsWhenBusCloses(t *testing.T) {
	b := newBus(t, func(c *Config) { c.KeepAlive = 0 })
	srv := startServer(t, b)
	s := open(t, srv, "")
	nextEvent(t, s.br)
	b.Close()
	for {
		if _, err := readFrame(t, s.br); err != nil {
			break // EOF: the server ended the response
		}
	}
}

func TestHandlerRefusals(t *testing.T) {
	b := newBus(t, nil)
	srv := startServer(t, b)
	tests := []struct {
		name, method, accept string
		want                 int
	}{
		{"no accept", http.MethodGet, "", http.StatusMethodNotAllowed},
		{"json accept", http.MethodGet, "application/json", http.StatusMethodNotAllowed},
		{"wildcard accept", http.MethodGet, "*/*", http.StatusMethodNotAllowed},
		{"post", http.MethodPost, "text/event-stream", http.StatusMethodNotAllowed},
		{"options", http.MethodOptions, "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+"/v2/events", nil)
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	if b.Subscribers() != 0 {
		t.Fatalf("refused requests left %d subscribers", b.Subscribers())
	}
	// A list with text/event-stream among others is accepted.
	if !acceptsEventStream([]string{"application/json, text/event-stream;q=0.9"}) {
		t.Fatal("text/event-stream in a list not accepted")
	}
	b.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("closed bus: status %d", resp.StatusCode)
	}
}

// blockingWriter is a ResponseWriter whose body writes block until
// released, standing in for a client that stopped reading.
type blockingWriter struct {
	hdr     http.Header
	release chan struct{}
	blocked chan struct{}
	once    sync.Once
	mu      sync.Mutex
	body    strings.Builder
}

func (w *blockingWriter) Header() http.Header { return w.hdr }
func (w *blockingWriter) WriteHeader(int)     {}
func (w *blockingWriter) Flush()              {}
func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.blocked) })
	<-w.release
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(p)
}

func TestHandlerDropsSlowConsumer(t *testing.T) {
	b := newBus(t, func(c *Config) { c.BufferSize = 4; c.KeepAlive = 0 })
	watch, _ := b.Subscribe([]string{TypeEventStreamDetached})
	w := &blockingWriter{hdr: http.Header{}, release: make(chan struct{}), blocked: make(chan struct{})}
	req := httptest.NewRequest(http.MethodGet, "/v2/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	done := make(chan struct{})
	go func() {
		defer close(done)
		Handler(b, zaptest.NewLogger(t)).ServeHTTP(w, req)
	}()
	<-w.blocked // stuck writing event_stream_attached
	if b.Subscribers() != 2 {
		t.Fatalf("subscribers = %d, want 2", b.Subscribers())
	}
	for i := 0; i < 10; i++ {
		b.Publish(NewAppTerminated("/a", t0)) // never blocks the publisher
	}
	if b.Subscribers() != 1 {
		t.Fatalf("slow stream not dropped: subscribers = %d", b.Subscribers())
	}
	close(w.release)
	<-done
	w.mu.Lock()
	n := strings.Count(w.body.String(), "event: app_terminated_event")
	w.mu.Unlock()
	if n != 4 {
		t.Fatalf("wrote %d buffered events, want the 4 that fit", n)
	}
	if m := <-watch.C(); m.Type != TypeEventStreamDetached {
		t.Fatalf("watch got %s", m.Type)
	}
}
