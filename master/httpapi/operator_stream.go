package httpapi

import (
	"cmp"
	"context"
	"net/http"
	"sync"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/apicodec"
	"github.com/agoracluster/agora/master/ledger"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/security/acl"
)

// The operator API's SUBSCRIBE: a RecordIO stream that starts with SUBSCRIBED
// (the whole state, as GET_STATE answers it) and goes on with the events the
// ledger records while it is watched (Effects.OperatorEvents), which the loop
// hands to PublishOperatorEvents after each step. SUBSCRIBED is queued on the
// loop in the same step that adds the subscriber, so every later change reaches
// the subscriber as an event and none twice. Each subscriber has a bounded
// queue (httpStream); one that does not keep up is dropped, with a log line,
// instead of holding the master's memory or slowing the loop.

var operatorHeartbeat = &masterpb.Event{Type: masterpb.Event_HEARTBEAT.Enum()}

// operatorHub is the set of operator subscribers. It is changed and read on
// the loop's goroutine; the mutex guards the count that tests read.
type operatorHub struct {
	mu   sync.Mutex
	subs map[*httpStream]subscriber
	// fwUsers maps framework ids to their users, for the view ACLs of task events.
	fwUsers map[string]string
}

// subscriber is one operator stream's caller.
type subscriber struct {
	remote    string // for logs
	principal string // for the view ACLs
}

func newOperatorHub() *operatorHub {
	return &operatorHub{subs: map[*httpStream]subscriber{}, fwUsers: map[string]string{}}
}

func (h *operatorHub) add(s *httpStream, sub subscriber, snap *ledger.Snapshot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[s] = sub
	if snap == nil {
		return
	}
	for _, fws := range [][]ledger.FrameworkView{snap.Frameworks, snap.CompletedFrameworks} {
		for _, fw := range fws {
			h.fwUsers[fw.Info.GetId().GetValue()] = fw.Info.GetUser()
		}
	}
}

// visible reports whether principal may see ev under acls (view_frameworks on framework
// events, view_tasks on task events, by the task's user, else its framework's). Locked.
func (h *operatorHub) visible(acls *acl.ACLs, principal string, ev *masterpb.Event) bool {
	switch ev.GetType() {
	case masterpb.Event_FRAMEWORK_ADDED:
		return acls.Allowed(acl.ViewFrameworks, principal, ev.GetFrameworkAdded().GetFramework().GetFrameworkInfo().GetUser())
	case masterpb.Event_FRAMEWORK_UPDATED:
		return acls.Allowed(acl.ViewFrameworks, principal, ev.GetFrameworkUpdated().GetFramework().GetFrameworkInfo().GetUser())
	case masterpb.Event_FRAMEWORK_REMOVED:
		return acls.Allowed(acl.ViewFrameworks, principal, ev.GetFrameworkRemoved().GetFrameworkInfo().GetUser())
	case masterpb.Event_TASK_ADDED:
		t := ev.GetTaskAdded().GetTask()
		return acls.Allowed(acl.ViewTasks, principal, cmp.Or(t.GetUser(), h.fwUsers[t.GetFrameworkId().GetValue()]))
	case masterpb.Event_TASK_UPDATED:
		return acls.Allowed(acl.ViewTasks, principal, h.fwUsers[ev.GetTaskUpdated().GetFrameworkId().GetValue()])
	}
	return true
}

// learn records the framework users that ev names. Locked.
func (h *operatorHub) learn(ev *masterpb.Event) {
	var info *mesos.FrameworkInfo
	switch ev.GetType() {
	case masterpb.Event_FRAMEWORK_ADDED:
		info = ev.GetFrameworkAdded().GetFramework().GetFrameworkInfo()
	case masterpb.Event_FRAMEWORK_UPDATED:
		info = ev.GetFrameworkUpdated().GetFramework().GetFrameworkInfo()
	}
	if info != nil {
		h.fwUsers[info.GetId().GetValue()] = info.GetUser()
	}
}

// remove drops s and reports whether subscribers remain.
func (h *operatorHub) remove(s *httpStream) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, s)
	return len(h.subs) > 0
}

// Subscribers is how many operator streams are open.
func (h *operatorHub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// PublishOperatorEvents sends the ledger's operator events to every subscriber.
// The loop calls it after each step, on its goroutine, with the step's events.
func (s *Server) PublishOperatorEvents(events []*masterpb.Event) {
	if len(events) == 0 {
		return
	}
	h := s.operators
	h.mu.Lock()
	defer h.mu.Unlock()
	var acls *acl.ACLs
	if s.cfg.Security.ACLs != nil {
		acls = s.cfg.Security.ACLs()
		for _, ev := range events {
			h.learn(ev)
		}
	}
	for stream, sub := range h.subs {
		for _, ev := range events {
			if acls == nil || h.visible(acls, sub.principal, ev) {
				stream.Send(ev)
			}
		}
		if stream.overflowed() {
			delete(h.subs, stream)
			s.log.Warn("dropping an operator API subscriber that does not keep up with the events",
				zap.String("remote", sub.remote), zap.Int("queue_limit_bytes", stream.limit))
		}
	}
}

// subscribeOperator serves SUBSCRIBE until the subscriber goes away or the
// master stops.
func (s *Server) subscribeOperator(w http.ResponseWriter, r *http.Request, out apicodec.Codec) {
	stream := newHTTPStream(out)
	if s.cfg.OperatorQueueBytes > 0 {
		stream.limit = s.cfg.OperatorQueueBytes
	}
	// The state is taken on the loop, in the step that adds the subscriber; encoding it,
	// which for a large cluster takes long, is done here, ahead of the events that queue
	// meanwhile.
	var subscribed *masterpb.Event
	principal := callerOf(r.Context()).principal
	err := s.loop.Do(r.Context(), func(l *ledger.Ledger) {
		l.WatchOperator(true)
		subscribed = l.OperatorSubscribed(s.cfg.FrameworkHeartbeatInterval)
		var all *ledger.Snapshot        // with ACLs: the frameworks' users, for the events' view ACLs
		if s.cfg.Security.ACLs != nil { // the state as the subscriber may view it
			subscribed.Subscribed.GetState = ledger.GetState(s.snapshot(l, principal))
			all = l.Snapshot()
		}
		s.operators.add(stream, subscriber{remote: r.RemoteAddr, principal: principal}, all)
	})
	if err == nil {
		err = stream.sendFirst(subscribed)
	}
	if err != nil {
		s.unsubscribe(stream)
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", out.ContentType())
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	stream.serve(w, r, s.stop, operatorHeartbeat, s.cfg.FrameworkHeartbeatInterval)
	if s.stopping() {
		return
	}
	s.unsubscribe(stream)
}

// unsubscribe removes a subscriber; the ledger stops recording events when none is left.
func (s *Server) unsubscribe(stream *httpStream) {
	_ = s.loop.Do(context.Background(), func(l *ledger.Ledger) {
		if !s.operators.remove(stream) {
			l.WatchOperator(false)
		}
	})
}
