package master

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/encoding/protojson"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/store"
)

// registry persists what must survive a master restart: admitted agents and
// frameworks with their failover deadlines.
type registry interface {
	putAgent(rec *agentRecord) error
	deleteAgent(id string) error
	putFramework(rec *frameworkRecord) error
	deleteFramework(id string) error
}

type agentRecord struct {
	Info            *mesos.AgentInfo
	RegisteredTime  time.Time
	UnreachableTime time.Time // zero unless unreachable
}

type frameworkRecord struct {
	Info             *mesos.FrameworkInfo
	FailoverDeadline time.Time // zero while connected
}

// recordJSON is the stored form of both records.
type recordJSON struct {
	Info            json.RawMessage `json:"info"`
	RegisteredTime  int64           `json:"registered_time_ns,omitempty"`
	UnreachableTime int64           `json:"unreachable_time_ns,omitempty"`
	Deadline        int64           `json:"failover_deadline_ns,omitempty"`
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

var protoJSON = protojson.MarshalOptions{UseProtoNames: true}

// storeRegistry keeps the records in a store.Store under agents/<id> and frameworks/<id>.
type storeRegistry struct {
	st      store.Store
	timeout time.Duration
}

func (r *storeRegistry) put(key string, rec recordJSON) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	_, err = r.st.Put(ctx, key, b, store.AnyVersion)
	return err
}

func (r *storeRegistry) del(key string) error {
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	err := r.st.Delete(ctx, key, store.AnyVersion)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

func (r *storeRegistry) putAgent(rec *agentRecord) error {
	info, err := protoJSON.Marshal(rec.Info)
	if err != nil {
		return err
	}
	return r.put("agents/"+storeKey(rec.Info.GetId().GetValue()), recordJSON{
		Info: info, RegisteredTime: unixNanos(rec.RegisteredTime), UnreachableTime: unixNanos(rec.UnreachableTime),
	})
}

func (r *storeRegistry) deleteAgent(id string) error { return r.del("agents/" + storeKey(id)) }

func (r *storeRegistry) putFramework(rec *frameworkRecord) error {
	info, err := protoJSON.Marshal(rec.Info)
	if err != nil {
		return err
	}
	return r.put("frameworks/"+storeKey(rec.Info.GetId().GetValue()), recordJSON{Info: info, Deadline: unixNanos(rec.FailoverDeadline)})
}

func (r *storeRegistry) deleteFramework(id string) error {
	return r.del("frameworks/" + storeKey(id))
}

// storeKey is an id as a store key segment: as is when it only has the characters
// keys allow, else hex-encoded behind "x-" (the record holds the id itself).
func storeKey(id string) string {
	if store.ValidateKey(id) == nil && !strings.HasPrefix(id, "x-") {
		return id
	}
	return "x-" + hex.EncodeToString([]byte(id))
}

// load reads every record.
func (r *storeRegistry) load(ctx context.Context) ([]*agentRecord, []*frameworkRecord, error) {
	var agents []*agentRecord
	var fws []*frameworkRecord
	read := func(prefix string, each func(recordJSON) error) error {
		keys, err := r.st.List(ctx, prefix)
		if err != nil {
			return fmt.Errorf("list %s: %w", prefix, err)
		}
		for _, key := range keys {
			b, _, err := r.st.Get(ctx, key)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("read %s: %w", key, err)
			}
			var rec recordJSON
			if err := json.Unmarshal(b, &rec); err != nil {
				return fmt.Errorf("decode %s: %w", key, err)
			}
			if err := each(rec); err != nil {
				return fmt.Errorf("decode %s: %w", key, err)
			}
		}
		return nil
	}
	unmarshal := protojson.UnmarshalOptions{DiscardUnknown: true}
	err := read("agents", func(rec recordJSON) error {
		info := &mesos.AgentInfo{}
		if err := unmarshal.Unmarshal(rec.Info, info); err != nil {
			return err
		}
		agents = append(agents, &agentRecord{Info: info, RegisteredTime: fromNanos(rec.RegisteredTime), UnreachableTime: fromNanos(rec.UnreachableTime)})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = read("frameworks", func(rec recordJSON) error {
		info := &mesos.FrameworkInfo{}
		if err := unmarshal.Unmarshal(rec.Info, info); err != nil {
			return err
		}
		fws = append(fws, &frameworkRecord{Info: info, FailoverDeadline: fromNanos(rec.Deadline)})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return agents, fws, nil
}

// persistAgent and the other helpers write through the registry; a failure is
// logged, the in-memory state stays authoritative.
func (s *state) persistAgent(a *agent) {
	err := s.reg.putAgent(&agentRecord{Info: a.info, RegisteredTime: a.registeredTime, UnreachableTime: a.unreachableTime})
	if err != nil {
		s.log.Error("registry: persist agent", zap.String("agent_id", a.id), zap.Error(err))
	}
}

func (s *state) deleteAgentRecord(id string) {
	if err := s.reg.deleteAgent(id); err != nil {
		s.log.Error("registry: delete agent", zap.String("agent_id", id), zap.Error(err))
	}
}

func (s *state) persistFramework(fw *framework) {
	if err := s.reg.putFramework(&frameworkRecord{Info: fw.info, FailoverDeadline: fw.failoverDeadline}); err != nil {
		s.log.Error("registry: persist framework", zap.String("framework_id", fw.id), zap.Error(err))
	}
}

func (s *state) deleteFrameworkRecord(id string) {
	if err := s.reg.deleteFramework(id); err != nil {
		s.log.Error("registry: delete framework", zap.String("framework_id", id), zap.Error(err))
	}
}

// recoverRegistry loads the registry into a fresh state: agents wait for their
// re-registration, frameworks for their schedulers.
func (s *state) recoverRegistry(agents []*agentRecord, fws []*frameworkRecord) {
	now := s.now()
	for _, rec := range fws {
		deadline := rec.FailoverDeadline
		if grace := now.Add(s.recoveryGrace(rec.Info)); deadline.Before(grace) {
			deadline = grace
		}
		s.recoverFramework(rec.Info, deadline)
	}
	for _, rec := range agents {
		s.recoverAgent(rec)
	}
}

// recoveryGrace is how long a framework known from the registry or an agent's
// report has to re-subscribe after a master restart: its failover timeout, but at
// least as long as agents have to re-register.
func (s *state) recoveryGrace(info *mesos.FrameworkInfo) time.Duration {
	return max(failoverTimeout(info), s.cfg.AgentReregisterTimeout)
}

// memRegistry is an in-memory registry for tests and for callers without a store.
type memRegistry struct {
	agents     map[string]*agentRecord
	frameworks map[string]*frameworkRecord
}

func newMemRegistry() *memRegistry {
	return &memRegistry{agents: map[string]*agentRecord{}, frameworks: map[string]*frameworkRecord{}}
}

func (m *memRegistry) putAgent(rec *agentRecord) error {
	m.agents[rec.Info.GetId().GetValue()] = rec
	return nil
}
func (m *memRegistry) deleteAgent(id string) error { delete(m.agents, id); return nil }
func (m *memRegistry) putFramework(rec *frameworkRecord) error {
	m.frameworks[rec.Info.GetId().GetValue()] = rec
	return nil
}
func (m *memRegistry) deleteFramework(id string) error { delete(m.frameworks, id); return nil }
