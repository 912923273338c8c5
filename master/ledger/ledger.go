package ledger

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/allocator"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	maintpb "github.com/agoracluster/agora/proto/mesos/v1/maintenance"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/resources"
)

// Clock tells the ledger the time; the owner passes the real clock, tests a fake one.
type Clock interface{ Now() time.Time }

// Sink is an outbound event stream to a framework or an agent. Send must not
// block and may keep nothing of m after it returns; Close ends the stream once the
// queued events are written.
type Sink interface {
	Send(m proto.Message)
	Close()
}

// Ledger is the master's decision core: the agents, frameworks, tasks and offers of
// the cluster. It is not safe for concurrent use: one goroutine owns it and feeds
// it events; it never blocks, since events to frameworks and agents go to
// non-blocking Sinks, and registry writes and log lines are handed out as Effects
// (TakeEffects).
type Ledger struct {
	cfg   Config
	clock Clock
	alloc *allocator.Allocator
	dirty writes
	notes []Note
	stats *Counters

	id        string // master id (UUID)
	info      *mesos.MasterInfo
	startTime time.Time

	ids ids

	frameworks          map[string]*framework
	completedFrameworks []*framework
	agents              map[string]*agent
	offers              map[string]*offer

	// Maintenance (maintenance.go): the schedule, the machines in maintenance by
	// machineKey, and the outstanding inverse offers by id.
	schedule      *maintpb.Schedule
	machines      map[string]*machine
	inverseOffers map[string]*inverseOffer
	// goneAgents are the agents marked gone (MARK_AGENT_GONE): never again admitted;
	// goneDue asks the next allocation to mark drained agents gone.
	goneAgents map[string]bool
	goneDue    bool

	// allocPending asks the owner to run an allocation cycle soon.
	allocPending bool

	// watched is set while the operator API has subscribers; opEvents are the
	// operator events recorded since the last TakeEffects.
	watched  bool
	opEvents []*masterpb.Event
}

// Counters are monotonic counts of the ledger's events, for metrics.
type Counters struct {
	OffersSent      int64
	OffersRescinded int64
	OffersDeclined  int64
	TasksLaunched   int64
	StatusUpdates   int64
	// TasksEnded counts the tasks that left the master's books, by their last
	// state (TASK_FINISHED, TASK_FAILED, …), for Mesos's master/tasks_* counters.
	TasksEnded map[mesos.TaskState]int64
}

// New returns an empty ledger of the master described by info. rng orders the
// allocator's agent visits; nil means a fixed order.
func New(cfg Config, clock Clock, info *mesos.MasterInfo, rng *rand.Rand) *Ledger {
	return &Ledger{
		cfg:        cfg,
		clock:      clock,
		alloc:      allocator.New(cfg.Allocator, rng),
		dirty:      newWrites(),
		stats:      &Counters{TasksEnded: map[mesos.TaskState]int64{}},
		id:         info.GetId(),
		ids:        ids{prefix: info.GetId()},
		info:       info,
		startTime:  clock.Now(),
		frameworks: map[string]*framework{},
		agents:     map[string]*agent{},
		offers:     map[string]*offer{},

		machines:      map[string]*machine{},
		inverseOffers: map[string]*inverseOffer{},
		goneAgents:    map[string]bool{},
	}
}

// sortedValues returns m's values in the order of their keys, for deterministic
// iteration.
func sortedValues[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}

func (l *Ledger) now() time.Time { return l.clock.Now() }

// ids hands out the ids of new frameworks, agents and offers: the master's id
// with a sequence number, as Mesos forms them.
type ids struct {
	prefix                     string
	frameworks, agents, offers int
}

func (n *ids) framework() string {
	id := fmt.Sprintf("%s-%04d", n.prefix, n.frameworks)
	n.frameworks++
	return id
}

func (n *ids) agent() string {
	id := fmt.Sprintf("%s-S%d", n.prefix, n.agents)
	n.agents++
	return id
}

func (n *ids) offer() string {
	id := fmt.Sprintf("%s-O%d", n.prefix, n.offers)
	n.offers++
	return id
}

// requestAllocation asks for an allocation cycle soon (batched by the owner).
func (l *Ledger) requestAllocation() { l.allocPending = true }

// AllocationPending reports whether an event asked for an allocation cycle since
// the last one.
func (l *Ledger) AllocationPending() bool { return l.allocPending }

// NextFilterExpiry is when the earliest refuse filter expires, if any: an
// allocation cycle then may offer what the filter held back.
func (l *Ledger) NextFilterExpiry() (time.Time, bool) { return l.alloc.NextFilterExpiry() }

// Tick runs every deadline that is due (agent liveness, agent removal, framework
// failover, offer timeouts) and asks for an allocation cycle; the owner calls it
// periodically.
func (l *Ledger) Tick() {
	now := l.now()
	l.checkAgents(now)
	l.checkFrameworks(now)
	l.checkOffers(now)
	l.requestAllocation()
}

// Kinds of rejected calls, matched with errors.Is. The error's own text is the
// message for the caller, in Mesos's words.
var (
	ErrInvalid   = errors.New("ledger: invalid call")
	ErrForbidden = errors.New("ledger: call not allowed")
	ErrNotFound  = errors.New("ledger: no such entity")
	ErrConflict  = errors.New("ledger: conflicts with the cluster's state")
)

// callError is a rejected call: a kind and the caller's message.
type callError struct {
	kind error
	msg  string
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.kind }

func badRequest(format string, args ...any) error {
	return &callError{kind: ErrInvalid, msg: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &callError{kind: ErrForbidden, msg: fmt.Sprintf(format, args...)}
}

// ids and small proto helpers.

func frameworkIDpb(id string) *mesos.FrameworkID { return &mesos.FrameworkID{Value: proto.String(id)} }
func agentIDpb(id string) *mesos.AgentID         { return &mesos.AgentID{Value: proto.String(id)} }
func offerIDpb(id string) *mesos.OfferID         { return &mesos.OfferID{Value: proto.String(id)} }
func taskIDpb(id string) *mesos.TaskID           { return &mesos.TaskID{Value: proto.String(id)} }
func executorIDpb(id string) *mesos.ExecutorID   { return &mesos.ExecutorID{Value: proto.String(id)} }

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// stripAllocation returns resources without allocation_info, as the master keeps them.
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

// parseResources converts protobuf resources to the value type, ignoring allocation info.
func parseResources(in []*mesos.Resource) (resources.Resources, error) {
	return resources.FromProto(stripAllocation(in))
}

// SetWeight sets a role's weight in the allocator, records it for the registry
// and asks for an allocation cycle.
func (l *Ledger) SetWeight(role string, w float64) error {
	if err := l.alloc.SetWeight(role, w); err != nil {
		return fmt.Errorf("ledger: set weight: %w", err)
	}
	l.dirty.weights[role] = true
	l.requestAllocation()
	return nil
}

// SetQuota sets (or, with an empty quota, removes) a role's quota in the
// allocator, records it for the registry and asks for an allocation cycle.
// force skips the capacity check.
func (l *Ledger) SetQuota(role string, q allocator.Quota, force bool) error {
	if err := l.alloc.SetQuota(role, q, force); err != nil {
		return fmt.Errorf("ledger: set quota: %w", err)
	}
	l.dirty.quotas[role] = true
	l.requestAllocation()
	return nil
}
