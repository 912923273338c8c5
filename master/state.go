package master

import (
	"fmt"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/agoracluster/agora/master/allocator"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Clock tells the state core the time.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// state is the master's state core. It is owned by one goroutine (Master.loop) and
// never blocks: events to frameworks and agents go to non-blocking eventSinks, and
// registry writes are handed to the loop as a batch (takeWrites).
type state struct {
	cfg   Config
	log   *zap.Logger
	clock Clock
	alloc *allocator.Allocator
	dirty writes
	stats *counters

	id        string // master id (UUID)
	info      *mesos.MasterInfo
	startTime time.Time

	nextFramework int
	nextAgent     int
	nextOffer     int

	frameworks          map[string]*framework
	completedFrameworks []*framework
	agents              map[string]*agent
	offers              map[string]*offer

	// allocPending asks the shell to run an allocation cycle soon.
	allocPending bool
}

// counters are monotonic counts the state core keeps for /metrics.
type counters struct {
	offersSent      int64
	offersRescinded int64
	offersDeclined  int64
	tasksLaunched   int64
	invalidCalls    int64
	statusUpdates   int64
}

func newState(cfg Config, log *zap.Logger, clock Clock, info *mesos.MasterInfo, rng *rand.Rand) *state {
	s := &state{
		cfg:        cfg,
		log:        log,
		clock:      clock,
		alloc:      allocator.New(allocator.DefaultConfig(), rng),
		dirty:      writes{agents: map[string]bool{}, frameworks: map[string]bool{}},
		stats:      &counters{},
		id:         info.GetId(),
		info:       info,
		startTime:  clock.Now(),
		frameworks: map[string]*framework{},
		agents:     map[string]*agent{},
		offers:     map[string]*offer{},
	}
	return s
}

func (s *state) now() time.Time { return s.clock.Now() }

func (s *state) newFrameworkID() string {
	id := fmt.Sprintf("%s-%04d", s.id, s.nextFramework)
	s.nextFramework++
	return id
}

func (s *state) newAgentID() string {
	id := fmt.Sprintf("%s-S%d", s.id, s.nextAgent)
	s.nextAgent++
	return id
}

func (s *state) newOfferID() string {
	id := fmt.Sprintf("%s-O%d", s.id, s.nextOffer)
	s.nextOffer++
	return id
}

// requestAllocation asks for an allocation cycle soon (batched by the shell).
func (s *state) requestAllocation() { s.allocPending = true }

// tick runs every deadline that is due: agent liveness, agent removal, framework
// failover and offer timeouts.
func (s *state) tick() {
	now := s.now()
	s.checkAgents(now)
	s.checkFrameworks(now)
	s.checkOffers(now)
}

// apiError is a call rejected with an HTTP status code and a message.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{code: 400, msg: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &apiError{code: 403, msg: fmt.Sprintf(format, args...)}
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
