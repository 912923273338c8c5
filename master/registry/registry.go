package registry

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	quotapb "github.com/agoracluster/agora/proto/mesos/v1/quota"
	"github.com/agoracluster/agora/store"
)

// DefaultTimeout bounds one store operation when New is given no timeout.
const DefaultTimeout = 10 * time.Second

// AgentRecord is an admitted agent.
type AgentRecord struct {
	Info            *mesos.AgentInfo // id set
	RegisteredTime  time.Time
	UnreachableTime time.Time // zero unless unreachable
	// Deactivated agents get no offers (DEACTIVATE_AGENT, DRAIN_AGENT); Drain
	// is set while the agent drains or is drained, since DrainStart.
	Deactivated bool
	Drain       *mesos.DrainInfo
	DrainStart  time.Time
}

// MaintenanceRecord is the maintenance schedule and the machines in maintenance
// (DRAINING or DOWN), kept as one record.
type MaintenanceRecord struct {
	Schedule *maintpb.Schedule
	Machines []*mesos.MachineInfo
}

// FrameworkRecord is a registered framework.
type FrameworkRecord struct {
	Info             *mesos.FrameworkInfo // id set
	FailoverDeadline time.Time            // zero while connected
}

// Batch is a set of changes to apply together: records to write and ids whose
// records to delete.
type Batch struct {
	Agents            []*AgentRecord
	Frameworks        []*FrameworkRecord
	DeletedAgents     []string
	DeletedFrameworks []string
	// Weights and Quotas are what operators set per role (UPDATE_WEIGHTS,
	// UPDATE_QUOTA); DeletedQuotas are roles whose quota was removed.
	Weights       []*mesos.WeightInfo
	Quotas        []*quotapb.QuotaConfig
	DeletedQuotas []string
	// Maintenance, when set, replaces the maintenance record.
	Maintenance *MaintenanceRecord
	// GoneAgents are agents marked gone (MARK_AGENT_GONE), kept for good.
	GoneAgents []string
}

// Empty reports whether the batch changes nothing.
func (b Batch) Empty() bool {
	return len(b.Agents)+len(b.Frameworks)+len(b.DeletedAgents)+len(b.DeletedFrameworks)+
		len(b.Weights)+len(b.Quotas)+len(b.DeletedQuotas) == 0 && b.Maintenance == nil && len(b.GoneAgents) == 0
}

// Registry keeps the records in a store.Store under agents/<id> and frameworks/<id>.
// It is safe for concurrent use as far as its store is.
type Registry struct {
	st      store.Store
	timeout time.Duration
}

// New returns a registry over st; timeout bounds each store operation (0 means
// DefaultTimeout).
func New(st store.Store, timeout time.Duration) *Registry {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Registry{st: st, timeout: timeout}
}

// recordJSON is the stored form of both records.
type recordJSON struct {
	Info            json.RawMessage `json:"info"`
	RegisteredTime  int64           `json:"registered_time_ns,omitempty"`
	UnreachableTime int64           `json:"unreachable_time_ns,omitempty"`
	Deadline        int64           `json:"failover_deadline_ns,omitempty"`
	Deactivated     bool            `json:"deactivated,omitempty"`
	Drain           json.RawMessage `json:"drain_info,omitempty"`
	DrainStart      int64           `json:"drain_start_ns,omitempty"`
}

// maintenanceKey holds the maintenance record.
const maintenanceKey = "maintenance/state"

// maintenanceJSON is the stored form of the maintenance record.
type maintenanceJSON struct {
	Schedule json.RawMessage   `json:"schedule"`
	Machines []json.RawMessage `json:"machines"`
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

// applyWorkers bounds the records written side by side.
const applyWorkers = 16

// Apply writes and deletes the batch's records, each with the registry's timeout, side by
// side (their fsyncs share the file system's commits; a ZooKeeper store pipelines them):
// the operations of one record stay in the batch's order. It goes on after a failure and
// returns every failure at once.
func (r *Registry) Apply(ctx context.Context, b Batch) error {
	type op struct {
		key string
		run func() error
	}
	var ops []op
	add := func(key string, run func() error) { ops = append(ops, op{key, run}) }
	for _, rec := range b.Agents {
		add("agent/"+rec.Info.GetId().GetValue(), func() error { return r.PutAgent(ctx, rec) })
	}
	for _, id := range b.DeletedAgents {
		add("agent/"+id, func() error { return r.DeleteAgent(ctx, id) })
	}
	for _, rec := range b.Frameworks {
		add("framework/"+rec.Info.GetId().GetValue(), func() error { return r.PutFramework(ctx, rec) })
	}
	for _, id := range b.DeletedFrameworks {
		add("framework/"+id, func() error { return r.DeleteFramework(ctx, id) })
	}
	for _, w := range b.Weights {
		add("weight/"+w.GetRole(), func() error {
			if err := r.putMessage(ctx, "weights/"+roleKey(w.GetRole()), w); err != nil {
				return fmt.Errorf("registry: put weight of %s: %w", w.GetRole(), err)
			}
			return nil
		})
	}
	for _, q := range b.Quotas {
		add("quota/"+q.GetRole(), func() error {
			if err := r.putMessage(ctx, "quotas/"+roleKey(q.GetRole()), q); err != nil {
				return fmt.Errorf("registry: put quota of %s: %w", q.GetRole(), err)
			}
			return nil
		})
	}
	for _, id := range b.GoneAgents {
		add("gone/"+id, func() error { return r.PutGoneAgent(ctx, id) })
	}
	if b.Maintenance != nil {
		add("maintenance", func() error { return r.PutMaintenance(ctx, b.Maintenance) })
	}
	for _, role := range b.DeletedQuotas {
		add("quota/"+role, func() error {
			if err := r.del(ctx, "quotas/"+roleKey(role)); err != nil {
				return fmt.Errorf("registry: delete quota of %s: %w", role, err)
			}
			return nil
		})
	}
	// One sequence of operations per record, in the batch's order; records side by side.
	var order []string
	byKey := map[string][]func() error{}
	for _, o := range ops {
		if _, ok := byKey[o.key]; !ok {
			order = append(order, o.key)
		}
		byKey[o.key] = append(byKey[o.key], o.run)
	}
	if len(order) == 1 {
		var errs []error
		for _, run := range byKey[order[0]] {
			errs = append(errs, run())
		}
		return errors.Join(errs...)
	}
	var (
		mu   sync.Mutex
		errs []error
		g    errgroup.Group
	)
	g.SetLimit(applyWorkers)
	for _, key := range order {
		g.Go(func() error {
			for _, run := range byKey[key] {
				if err := run(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	return errors.Join(errs...)
}

// putMessage writes a message as its JSON, which names its role.
func (r *Registry) putMessage(ctx context.Context, key string, m proto.Message) error {
	b, err := protoJSON.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	_, err = r.st.Put(ctx, key, b, store.AnyVersion)
	return err
}

// LoadRoles reads the weights and quotas operators set.
func (r *Registry) LoadRoles(ctx context.Context) ([]*mesos.WeightInfo, []*quotapb.QuotaConfig, error) {
	var weights []*mesos.WeightInfo
	var quotas []*quotapb.QuotaConfig
	err := r.readRaw(ctx, "weights", func(b []byte) error {
		w := &mesos.WeightInfo{}
		weights = append(weights, w)
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, w)
	})
	if err != nil {
		return nil, nil, err
	}
	err = r.readRaw(ctx, "quotas", func(b []byte) error {
		q := &quotapb.QuotaConfig{}
		quotas = append(quotas, q)
		return protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(b, q)
	})
	if err != nil {
		return nil, nil, err
	}
	return weights, quotas, nil
}

func (r *Registry) put(ctx context.Context, key string, rec recordJSON) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	_, err = r.st.Put(ctx, key, b, store.AnyVersion)
	return err
}

func (r *Registry) del(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	err := r.st.Delete(ctx, key, store.AnyVersion)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// PutMaintenance writes the maintenance record.
func (r *Registry) PutMaintenance(ctx context.Context, rec *MaintenanceRecord) error {
	var doc maintenanceJSON
	s := rec.Schedule
	if s == nil {
		s = &maintpb.Schedule{}
	}
	b, err := protoJSON.Marshal(s)
	if err != nil {
		return fmt.Errorf("registry: put maintenance: %w", err)
	}
	doc.Schedule = b
	doc.Machines = []json.RawMessage{}
	for _, m := range rec.Machines {
		mb, err := protoJSON.Marshal(m)
		if err != nil {
			return fmt.Errorf("registry: put maintenance: %w", err)
		}
		doc.Machines = append(doc.Machines, mb)
	}
	raw, err := json.Marshal(doc)
	if err == nil {
		ctx, cancel := context.WithTimeout(ctx, r.timeout)
		defer cancel()
		_, err = r.st.Put(ctx, maintenanceKey, raw, store.AnyVersion)
	}
	if err != nil {
		return fmt.Errorf("registry: put maintenance: %w", err)
	}
	return nil
}

// PutGoneAgent records that agent id was marked gone.
func (r *Registry) PutGoneAgent(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if _, err := r.st.Put(ctx, "gone/"+storeKey(id), []byte(id), store.AnyVersion); err != nil {
		return fmt.Errorf("registry: put gone agent %s: %w", id, err)
	}
	return nil
}

// LoadGoneAgents reads the ids of the agents marked gone.
func (r *Registry) LoadGoneAgents(ctx context.Context) ([]string, error) {
	var ids []string
	err := r.readRaw(ctx, "gone", func(b []byte) error {
		ids = append(ids, string(b))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// LoadMaintenance reads the maintenance record; an absent one is an empty schedule.
func (r *Registry) LoadMaintenance(ctx context.Context) (*MaintenanceRecord, error) {
	rec := &MaintenanceRecord{Schedule: &maintpb.Schedule{}}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	raw, _, err := r.st.Get(ctx, maintenanceKey)
	if errors.Is(err, store.ErrNotFound) {
		return rec, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: read %s: %w", maintenanceKey, err)
	}
	var doc maintenanceJSON
	unmarshal := protojson.UnmarshalOptions{DiscardUnknown: true}
	err = json.Unmarshal(raw, &doc)
	if err == nil && len(doc.Schedule) > 0 {
		err = unmarshal.Unmarshal(doc.Schedule, rec.Schedule)
	}
	for _, mb := range doc.Machines {
		if err != nil {
			break
		}
		m := &mesos.MachineInfo{}
		err = unmarshal.Unmarshal(mb, m)
		rec.Machines = append(rec.Machines, m)
	}
	if err != nil {
		return nil, fmt.Errorf("registry: decode %s: %w", maintenanceKey, err)
	}
	return rec, nil
}

// PutAgent writes an agent's record.
func (r *Registry) PutAgent(ctx context.Context, rec *AgentRecord) error {
	id := rec.Info.GetId().GetValue()
	info, err := protoJSON.Marshal(rec.Info)
	var drain []byte
	if err == nil && rec.Drain != nil {
		drain, err = protoJSON.Marshal(rec.Drain)
	}
	if err == nil {
		err = r.put(ctx, "agents/"+storeKey(id), recordJSON{
			Info: info, RegisteredTime: unixNanos(rec.RegisteredTime), UnreachableTime: unixNanos(rec.UnreachableTime),
			Deactivated: rec.Deactivated, Drain: drain, DrainStart: unixNanos(rec.DrainStart),
		})
	}
	if err != nil {
		return fmt.Errorf("registry: put agent %s: %w", id, err)
	}
	return nil
}

// DeleteAgent removes an agent's record; an absent record is no error.
func (r *Registry) DeleteAgent(ctx context.Context, id string) error {
	if err := r.del(ctx, "agents/"+storeKey(id)); err != nil {
		return fmt.Errorf("registry: delete agent %s: %w", id, err)
	}
	return nil
}

// PutFramework writes a framework's record.
func (r *Registry) PutFramework(ctx context.Context, rec *FrameworkRecord) error {
	id := rec.Info.GetId().GetValue()
	info, err := protoJSON.Marshal(rec.Info)
	if err == nil {
		err = r.put(ctx, "frameworks/"+storeKey(id), recordJSON{Info: info, Deadline: unixNanos(rec.FailoverDeadline)})
	}
	if err != nil {
		return fmt.Errorf("registry: put framework %s: %w", id, err)
	}
	return nil
}

// DeleteFramework removes a framework's record; an absent record is no error.
func (r *Registry) DeleteFramework(ctx context.Context, id string) error {
	if err := r.del(ctx, "frameworks/"+storeKey(id)); err != nil {
		return fmt.Errorf("registry: delete framework %s: %w", id, err)
	}
	return nil
}

// storeKey is an id as a store key segment: as is when it only has the characters
// keys allow, else hex-encoded behind "x-" (the record holds the id itself).
func storeKey(id string) string {
	if store.ValidateKey(id) == nil && !strings.HasPrefix(id, "x-") {
		return id
	}
	return "x-" + hex.EncodeToString([]byte(id))
}

// roleKey is a role as one key segment: hierarchical roles ("eng/web") are
// hex-encoded like other ids with characters keys do not take as a segment.
func roleKey(role string) string {
	if strings.Contains(role, "/") {
		return "x-" + hex.EncodeToString([]byte(role))
	}
	return storeKey(role)
}

// Load reads every record.
func (r *Registry) Load(ctx context.Context) ([]*AgentRecord, []*FrameworkRecord, error) {
	var agents []*AgentRecord
	var fws []*FrameworkRecord
	unmarshal := protojson.UnmarshalOptions{DiscardUnknown: true}
	err := r.read(ctx, "agents", func(rec recordJSON) error {
		info := &mesos.AgentInfo{}
		if err := unmarshal.Unmarshal(rec.Info, info); err != nil {
			return err
		}
		ar := &AgentRecord{
			Info: info, RegisteredTime: fromNanos(rec.RegisteredTime), UnreachableTime: fromNanos(rec.UnreachableTime),
			Deactivated: rec.Deactivated, DrainStart: fromNanos(rec.DrainStart),
		}
		if len(rec.Drain) > 0 {
			ar.Drain = &mesos.DrainInfo{}
			if err := unmarshal.Unmarshal(rec.Drain, ar.Drain); err != nil {
				return err
			}
		}
		agents = append(agents, ar)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = r.read(ctx, "frameworks", func(rec recordJSON) error {
		info := &mesos.FrameworkInfo{}
		if err := unmarshal.Unmarshal(rec.Info, info); err != nil {
			return err
		}
		fws = append(fws, &FrameworkRecord{Info: info, FailoverDeadline: fromNanos(rec.Deadline)})
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return agents, fws, nil
}

// read decodes every record under prefix.
func (r *Registry) read(ctx context.Context, prefix string, each func(recordJSON) error) error {
	return r.readRaw(ctx, prefix, func(b []byte) error {
		var rec recordJSON
		if err := json.Unmarshal(b, &rec); err != nil {
			return err
		}
		return each(rec)
	})
}

// readRaw hands every value under prefix to each, in the keys' order. The values are
// read side by side (a new leader recovers thousands of agents from ZooKeeper, where each
// read is a round trip).
func (r *Registry) readRaw(ctx context.Context, prefix string, each func([]byte) error) error {
	keys, err := r.st.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("registry: list %s: %w", prefix, err)
	}
	values := make([][]byte, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readWorkers)
	for i, key := range keys {
		g.Go(func() error {
			b, _, err := r.st.Get(gctx, key)
			if errors.Is(err, store.ErrNotFound) {
				return nil // deleted since the listing
			}
			if err != nil {
				return fmt.Errorf("registry: read %s: %w", key, err)
			}
			values[i] = b
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, b := range values {
		if b == nil {
			continue
		}
		if err := each(b); err != nil {
			return fmt.Errorf("registry: decode %s: %w", keys[i], err)
		}
	}
	return nil
}

// readWorkers bounds the registry reads in flight at once.
const readWorkers = 32
