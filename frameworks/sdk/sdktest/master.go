// Package sdktest provides a fake Mesos master for testing framework schedulers: it speaks
// the real v1 scheduler protocol (RecordIO over HTTP, protobuf or JSON) on 127.0.0.1, records
// every call, and lets the test push events, drop the stream, redirect or stay silent.
package sdktest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/recordio"
	"google.golang.org/protobuf/proto"
)

// Master is a fake master. Create it with NewMaster and Close it when done.
type Master struct {
	srv    *httptest.Server
	closed chan struct{}
	once   sync.Once
	conns  atomic.Int64 // connections accepted

	mu          sync.Mutex
	frameworkID string
	heartbeat   time.Duration
	beat        bool
	redirect    string
	reject      *rejection
	stream      *stream
	streams     int
	calls       []*recorded
	notify      chan struct{} // closed and replaced whenever a call is recorded
}

type rejection struct {
	code int
	msg  string
}

type recorded struct {
	call  *scheduler.Call
	taken bool
}

type stream struct {
	id     string
	events chan *scheduler.Event
	drop   chan struct{}
	once   sync.Once
}

func (s *stream) close() { s.once.Do(func() { close(s.drop) }) }

// NewMaster starts a fake master on 127.0.0.1. By default it assigns framework id
// "fake-0000", announces a 15s heartbeat interval and sends heartbeats.
func NewMaster() *Master {
	m := newMaster()
	m.srv.Start()
	return m
}

// NewTLSMaster is NewMaster serving HTTPS with cfg (HTTP/2 offered first, as a real
// master's TLS listener does).
func NewTLSMaster(cfg *tls.Config) *Master {
	m := newMaster()
	m.srv.TLS = cfg.Clone()
	m.srv.EnableHTTP2 = true
	m.srv.StartTLS()
	return m
}

func newMaster() *Master {
	m := &Master{
		closed:      make(chan struct{}),
		frameworkID: "fake-0000",
		heartbeat:   15 * time.Second,
		beat:        true,
		notify:      make(chan struct{}),
	}
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(m.serve))
	m.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			m.conns.Add(1)
		}
	}
	return m
}

// Addr returns the master's "127.0.0.1:port".
func (m *Master) Addr() string {
	return strings.TrimPrefix(strings.TrimPrefix(m.srv.URL, "http://"), "https://")
}

// Connections returns how many connections the master accepted so far.
func (m *Master) Connections() int { return int(m.conns.Load()) }

// Close drops every stream and stops the server.
func (m *Master) Close() {
	m.once.Do(func() {
		close(m.closed)
		m.srv.CloseClientConnections()
		m.srv.Close()
	})
}

// SetFrameworkID sets the id given to frameworks that subscribe without one.
func (m *Master) SetFrameworkID(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frameworkID = id
}

// SetHeartbeat sets the interval announced in SUBSCRIBED (for later subscriptions) and
// whether HEARTBEAT events are actually sent (false: a silent master).
func (m *Master) SetHeartbeat(interval time.Duration, send bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.heartbeat, m.beat = interval, send
}

// SetRedirect makes the master answer every request with 307 to addr ("host:port"), as a
// non-leading master does; "" turns it off.
func (m *Master) SetRedirect(addr string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.redirect = addr
}

// SetReject makes SUBSCRIBE fail with code and msg; code 0 turns it off.
func (m *Master) SetReject(code int, msg string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if code == 0 {
		m.reject = nil
		return
	}
	m.reject = &rejection{code: code, msg: msg}
}

// Subscriptions returns how many subscriptions the master accepted.
func (m *Master) Subscriptions() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.streams
}

// Send delivers ev on the current subscription.
func (m *Master) Send(ev *scheduler.Event) error {
	m.mu.Lock()
	st := m.stream
	m.mu.Unlock()
	if st == nil {
		return errors.New("sdktest: no subscriber")
	}
	select {
	case st.events <- ev:
		return nil
	case <-st.drop:
		return errors.New("sdktest: stream dropped")
	case <-m.closed:
		return errors.New("sdktest: master closed")
	}
}

// SendOffers sends an OFFERS event.
func (m *Master) SendOffers(offers ...*mesos.Offer) error {
	return m.Send(&scheduler.Event{
		Type:   scheduler.Event_OFFERS.Enum(),
		Offers: &scheduler.Event_Offers{Offers: offers},
	})
}

// SendUpdate sends an UPDATE event.
func (m *Master) SendUpdate(status *mesos.TaskStatus) error {
	return m.Send(&scheduler.Event{
		Type:   scheduler.Event_UPDATE.Enum(),
		Update: &scheduler.Event_Update{Status: status},
	})
}

// SendError sends a fatal ERROR event.
func (m *Master) SendError(msg string) error {
	return m.Send(&scheduler.Event{
		Type:  scheduler.Event_ERROR.Enum(),
		Error: &scheduler.Event_Error{Message: proto.String(msg)},
	})
}

// Drop ends the current subscription's stream from the master's side.
func (m *Master) Drop() {
	m.mu.Lock()
	st := m.stream
	m.stream = nil
	m.mu.Unlock()
	if st != nil {
		st.close()
	}
}

// Calls returns every call received so far (SUBSCRIBE included), in order.
func (m *Master) Calls() []*scheduler.Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*scheduler.Call, len(m.calls))
	for i, r := range m.calls {
		out[i] = r.call
	}
	return out
}

// Next waits up to timeout for the oldest call of type typ that no earlier Next returned,
// and returns it.
func (m *Master) Next(typ scheduler.Call_Type, timeout time.Duration) (*scheduler.Call, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		for _, r := range m.calls {
			if !r.taken && r.call.GetType() == typ {
				r.taken = true
				m.mu.Unlock()
				return r.call, nil
			}
		}
		wait := m.notify
		m.mu.Unlock()
		select {
		case <-wait:
		case <-deadline.C:
			return nil, fmt.Errorf("sdktest: no %s call within %s", typ, timeout)
		case <-m.closed:
			return nil, errors.New("sdktest: master closed")
		}
	}
}

func (m *Master) record(c *scheduler.Call) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, &recorded{call: c})
	close(m.notify)
	m.notify = make(chan struct{})
}

func (m *Master) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/scheduler" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "Expecting a 'POST' request", http.StatusMethodNotAllowed)
		return
	}
	m.mu.Lock()
	redirect := m.redirect
	m.mu.Unlock()
	if redirect != "" {
		w.Header().Set("Location", "//"+redirect+"/api/v1/scheduler")
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	call := &scheduler.Call{}
	switch ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(body, call)
	case "application/json":
		err = mesos.UnmarshalJSON(body, call)
	default:
		http.Error(w, "Expecting 'Content-Type' of application/json or application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		http.Error(w, "Failed to parse body into Call: "+err.Error(), http.StatusBadRequest)
		return
	}
	m.record(call)
	if call.GetType() == scheduler.Call_SUBSCRIBE {
		m.subscribe(w, r, call)
		return
	}
	m.mu.Lock()
	st, fid := m.stream, m.frameworkID
	m.mu.Unlock()
	switch {
	case st == nil:
		http.Error(w, "Framework is not subscribed", http.StatusBadRequest)
		return
	case r.Header.Get("Mesos-Stream-Id") != st.id:
		http.Error(w, "The stream ID included in this request didn't match the stream ID currently associated with framework ID "+fid, http.StatusBadRequest)
		return
	case call.GetFrameworkId().GetValue() != fid:
		http.Error(w, "Call framework id does not match", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	if call.GetType() == scheduler.Call_TEARDOWN {
		m.Drop()
	}
}

func (m *Master) subscribe(w http.ResponseWriter, r *http.Request, call *scheduler.Call) {
	accept := r.Header.Get("Accept")
	if accept != "application/json" {
		accept = "application/x-protobuf"
	}
	m.mu.Lock()
	if rej := m.reject; rej != nil {
		m.mu.Unlock()
		http.Error(w, rej.msg, rej.code)
		return
	}
	if id := call.GetFrameworkId().GetValue(); id != "" {
		m.frameworkID = id
	}
	m.streams++
	st := &stream{id: fmt.Sprintf("stream-%d", m.streams), events: make(chan *scheduler.Event), drop: make(chan struct{})}
	if m.stream != nil {
		m.stream.close()
	}
	m.stream = st
	fid, hb, beat := m.frameworkID, m.heartbeat, m.beat
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		if m.stream == st {
			m.stream = nil
		}
		m.mu.Unlock()
		st.close()
	}()

	w.Header().Set("Content-Type", accept)
	w.Header().Set("Mesos-Stream-Id", st.id)
	w.WriteHeader(http.StatusOK)
	rw := recordio.NewWriter(w)
	write := func(ev *scheduler.Event) bool {
		var b []byte
		var err error
		if accept == "application/json" {
			b, err = mesos.MarshalJSON(ev)
		} else {
			b, err = proto.Marshal(ev)
		}
		return err == nil && rw.WriteRecord(b) == nil
	}
	if !write(&scheduler.Event{
		Type: scheduler.Event_SUBSCRIBED.Enum(),
		Subscribed: &scheduler.Event_Subscribed{
			FrameworkId:              &mesos.FrameworkID{Value: proto.String(fid)},
			HeartbeatIntervalSeconds: proto.Float64(hb.Seconds()),
		},
	}) {
		return
	}
	var tick <-chan time.Time
	if beat && hb > 0 {
		t := time.NewTicker(hb)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case ev := <-st.events:
			if !write(ev) {
				return
			}
		case <-tick:
			if !write(&scheduler.Event{Type: scheduler.Event_HEARTBEAT.Enum()}) {
				return
			}
		case <-st.drop:
			return
		case <-r.Context().Done():
			return
		case <-m.closed:
			return
		}
	}
}
