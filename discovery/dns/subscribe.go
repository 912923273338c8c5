package dns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/apicodec"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/recordio"
	"github.com/agoracluster/agora/resources"
)

// Subscriber is the Source that follows the leading master's operator API SUBSCRIBE stream,
// so that a task's records change as soon as the master hears of it (TASK_UPDATED to
// TASK_RUNNING), not at the next poll. On every (re)connection it first reads /state, as
// the Poller does, then subscribes and keeps the state current from the events; when the
// stream ends, or ZooKeeper names a new leader, it reads /state again and re-subscribes. A
// master without the operator API (404, 501) is polled instead.
type Subscriber struct {
	*Poller
	// stream reads the SUBSCRIBE stream: no overall timeout.
	stream *http.Client
}

var _ Source = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber for cfg.Masters.
func NewSubscriber(cfg Config, log *zap.Logger) *Subscriber {
	p := NewPoller(cfg, log)
	p.log = log.Named("dns_subscriber")
	return &Subscriber{Poller: p, stream: &http.Client{Transport: cfg.transport()}}
}

// errNoOperatorAPI: the master does not serve SUBSCRIBE; poll it instead.
var errNoOperatorAPI = errors.New("the master has no operator API")

// Run follows the masters until ctx ends. update is called with a State that the Subscriber
// goes on changing after update returns: update must not keep it.
func (s *Subscriber) Run(ctx context.Context, update func(*State)) error {
	masters, done, err := s.detect(ctx)
	if err != nil {
		return err
	}
	defer done()
	var lastErr string
	logErr := func(what string, err error) {
		if ctx.Err() == nil && err.Error() != lastErr {
			s.log.Warn(what, zap.Error(err))
		}
		lastErr = err.Error()
	}
	for ctx.Err() == nil {
		// A master without the operator API is polled every Refresh; after a failed read
		// or a stream that ended (the master stopped, a standby took over) the state is
		// read again soon.
		wait := min(s.cfg.Refresh, reconnectDelay)
		ms, leaderChanged, err := masters()
		var st *State
		var master string
		if err == nil {
			st, master, err = s.fetch(ctx, ms)
		}
		if err != nil {
			logErr("read the master's state", err)
		} else {
			update(st)
			err = s.follow(ctx, master, st, update, leaderChanged)
			switch {
			case err == nil: // the leader changed: re-read at once
				continue
			case errors.Is(err, errNoOperatorAPI):
				logErr("polling the master's /state", err)
				wait = s.cfg.Refresh
			default:
				logErr("operator event stream ended", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		case <-leaderChanged:
		}
	}
	return nil
}

// reconnectDelay bounds the wait before the state is read again after a failure.
const reconnectDelay = time.Second

// follow subscribes to master's operator API and applies its events to st until the stream
// ends (an error), ctx ends, or leaderChanged is closed (nil).
func (s *Subscriber) follow(ctx context.Context, master string, st *State, update func(*State), leaderChanged <-chan struct{}) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	body, err := apicodec.Protobuf.Marshal(&masterpb.Call{Type: masterpb.Call_SUBSCRIBE.Enum()})
	if err != nil {
		return err
	}
	// A standby answers 307 to the leader; the client follows it with the body again.
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.masterScheme()+master+"/api/v1", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", apicodec.MediaProtobuf)
	req.Header.Set("Accept", apicodec.MediaProtobuf)
	resp, err := s.stream.Do(req)
	if err != nil {
		return fmt.Errorf("master %s: SUBSCRIBE: %w", master, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusNotImplemented:
		return fmt.Errorf("%w: master %s answered SUBSCRIBE with %s", errNoOperatorAPI, master, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("master %s: SUBSCRIBE: %s", master, resp.Status)
	}
	codec, err := apicodec.ForRequest(resp.Header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("master %s: SUBSCRIBE: %w", master, err)
	}

	// One goroutine reads the stream; this one applies the events, all those that have
	// arrived before each update, so a burst costs one zone rebuild.
	events := make(chan *masterpb.Event, 1024)
	readErr := make(chan error, 1)
	go func() {
		defer close(events)
		r := recordio.NewReader(resp.Body, maxStateSize)
		for {
			rec, err := r.ReadRecord()
			if err != nil {
				readErr <- err
				return
			}
			ev := &masterpb.Event{}
			if err := codec.Unmarshal(rec, ev); err != nil {
				readErr <- fmt.Errorf("decode event: %w", err)
				return
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
		}
	}()
	defer func() {
		cancel()
		for range events { // let the reader finish
		}
	}()
	applied := newLiveState(st)
	for {
		var ev *masterpb.Event
		var ok bool
		select {
		case ev, ok = <-events:
		case <-leaderChanged:
			return nil
		case <-ctx.Done():
			return nil
		}
		if !ok {
			return fmt.Errorf("master %s: %w", master, <-readErr)
		}
		changed := applied.apply(ev)
	drain:
		for {
			select {
			case ev, ok = <-events:
				if !ok {
					break drain
				}
				changed = applied.apply(ev) || changed
			default:
				break drain
			}
		}
		if changed {
			s.resolveAgents(ctx, st)
			update(st)
		}
		if !ok {
			return fmt.Errorf("master %s: %w", master, <-readErr)
		}
	}
}

// liveState applies operator events to a State.
type liveState struct{ st *State }

func newLiveState(st *State) *liveState { return &liveState{st: st} }

// apply changes the state by one event and reports whether the records may have changed.
func (l *liveState) apply(ev *masterpb.Event) bool {
	st := l.st
	switch ev.GetType() {
	case masterpb.Event_SUBSCRIBED:
		// The stream's own view of the state, taken with the first event: it replaces the
		// /state read (which may be a moment older), keeping the leader.
		leader := st.Leader
		*st = stateOf(ev.GetSubscribed().GetGetState())
		st.Leader = leader
		return true
	case masterpb.Event_AGENT_ADDED:
		info := ev.GetAgentAdded().GetAgent().GetAgentInfo()
		a := Agent{ID: info.GetId().GetValue(), Hostname: info.GetHostname()}
		for i := range st.Slaves {
			if st.Slaves[i].ID == a.ID {
				st.Slaves[i] = a
				return true
			}
		}
		st.Slaves = append(st.Slaves, a)
		return true
	case masterpb.Event_AGENT_REMOVED:
		id := ev.GetAgentRemoved().GetAgentId().GetValue()
		for i := range st.Slaves {
			if st.Slaves[i].ID == id {
				st.Slaves = append(st.Slaves[:i], st.Slaves[i+1:]...)
				return true
			}
		}
		return false
	case masterpb.Event_FRAMEWORK_ADDED, masterpb.Event_FRAMEWORK_UPDATED:
		fw := ev.GetFrameworkAdded().GetFramework()
		if fw == nil {
			fw = ev.GetFrameworkUpdated().GetFramework()
		}
		info := fw.GetFrameworkInfo()
		if f := l.framework(info.GetId().GetValue()); f != nil {
			changed := f.Name != info.GetName()
			f.Name = info.GetName()
			return changed
		}
		st.Frameworks = append(st.Frameworks, Framework{ID: info.GetId().GetValue(), Name: info.GetName()})
		return false // no tasks yet
	case masterpb.Event_FRAMEWORK_REMOVED:
		id := ev.GetFrameworkRemoved().GetFrameworkInfo().GetId().GetValue()
		for i := range st.Frameworks {
			if st.Frameworks[i].ID == id {
				st.Frameworks = append(st.Frameworks[:i], st.Frameworks[i+1:]...)
				return true
			}
		}
		return false
	case masterpb.Event_TASK_ADDED:
		t := ev.GetTaskAdded().GetTask()
		f := l.framework(t.GetFrameworkId().GetValue())
		if f == nil {
			st.Frameworks = append(st.Frameworks, Framework{ID: t.GetFrameworkId().GetValue()})
			f = &st.Frameworks[len(st.Frameworks)-1]
		}
		task := taskOf(t)
		for i := range f.Tasks {
			if f.Tasks[i].ID == task.ID {
				f.Tasks[i] = task
				return true
			}
		}
		f.Tasks = append(f.Tasks, task)
		return task.State == mesos.TaskState_TASK_RUNNING.String()
	case masterpb.Event_TASK_UPDATED:
		u := ev.GetTaskUpdated()
		f := l.framework(u.GetFrameworkId().GetValue())
		if f == nil {
			return false
		}
		id := u.GetStatus().GetTaskId().GetValue()
		for i := range f.Tasks {
			t := &f.Tasks[i]
			if t.ID != id {
				continue
			}
			if u.GetState().IsTerminal() {
				f.Tasks = append(f.Tasks[:i], f.Tasks[i+1:]...)
				return true
			}
			t.State = u.GetState().String()
			t.Statuses = append(t.Statuses, statusOf(u.GetStatus()))
			if n := len(t.Statuses) - 16; n > 0 {
				t.Statuses = t.Statuses[n:]
			}
			return true
		}
	}
	return false
}

func (l *liveState) framework(id string) *Framework {
	for i := range l.st.Frameworks {
		if l.st.Frameworks[i].ID == id {
			return &l.st.Frameworks[i]
		}
	}
	return nil
}

// stateOf converts GET_STATE to the records' State: registered agents, registered
// frameworks and their active tasks.
func stateOf(gs *masterpb.Response_GetState) State {
	st := State{}
	for _, a := range gs.GetGetAgents().GetAgents() {
		st.Slaves = append(st.Slaves, Agent{ID: a.GetAgentInfo().GetId().GetValue(), Hostname: a.GetAgentInfo().GetHostname()})
	}
	index := map[string]int{}
	for _, fw := range gs.GetGetFrameworks().GetFrameworks() {
		info := fw.GetFrameworkInfo()
		index[info.GetId().GetValue()] = len(st.Frameworks)
		st.Frameworks = append(st.Frameworks, Framework{ID: info.GetId().GetValue(), Name: info.GetName()})
	}
	for _, t := range gs.GetGetTasks().GetTasks() {
		if i, ok := index[t.GetFrameworkId().GetValue()]; ok && !t.GetState().IsTerminal() {
			st.Frameworks[i].Tasks = append(st.Frameworks[i].Tasks, taskOf(t))
		}
	}
	return st
}

// taskOf is a task as /state renders the fields the records use.
func taskOf(t *mesos.Task) Task {
	task := Task{
		ID: t.GetTaskId().GetValue(), Name: t.GetName(), SlaveID: t.GetAgentId().GetValue(),
		State: t.GetState().String(), Resources: map[string]any{},
	}
	if r, err := resources.FromProto(stripAllocation(t.GetResources())); err == nil {
		if ports := r.Ranges("ports"); !ports.IsEmpty() {
			task.Resources["ports"] = ports.String()
		}
	}
	for _, s := range t.GetStatuses() {
		task.Statuses = append(task.Statuses, statusOf(s))
	}
	return task
}

func stripAllocation(in []*mesos.Resource) []*mesos.Resource {
	out := make([]*mesos.Resource, 0, len(in))
	for _, r := range in {
		if r.AllocationInfo != nil {
			r = proto.Clone(r).(*mesos.Resource)
			r.AllocationInfo = nil
		}
		out = append(out, r)
	}
	return out
}

func statusOf(s *mesos.TaskStatus) TaskStatus {
	return TaskStatus{State: s.GetState().String(), Timestamp: s.GetTimestamp(), Healthy: s.Healthy}
}
