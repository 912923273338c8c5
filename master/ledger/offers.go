package ledger

import (
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"github.com/agoracluster/agora/resources"
)

// defaultRefuse is Filters.refuse_seconds' default.
const defaultRefuse = 5 * time.Second

// offer is an outstanding offer: its resources count as allocated to the framework
// until they are accepted (then used by tasks) or recovered.
type offer struct {
	id          string
	frameworkID string
	agentID     string
	role        string
	res         resources.Resources
	created     time.Time
	// unavailability is the agent's machine's maintenance window when the offer was
	// made (nil when the machine is UP).
	unavailability *mesos.Unavailability
}

// Allocate runs one allocation cycle and sends the resulting offers.
func (l *Ledger) Allocate() {
	now := l.now()
	l.allocPending = false
	l.markDrainedGone()
	batches := map[string][]*mesos.Offer{}
	for _, ao := range l.alloc.Allocate(now) {
		fw := l.frameworks[ao.FrameworkID]
		a := l.agents[ao.AgentID]
		if fw == nil || !fw.connected || a == nil || a.state != agentActive {
			l.alloc.Recover(ao.FrameworkID, ao.AgentID, ao.Resources, 0, now)
			continue
		}
		o := &offer{id: l.ids.offer(), frameworkID: fw.id, agentID: a.id, role: ao.Role, res: ao.Resources, created: now,
			unavailability: l.unavailabilityOf(a)}
		l.offers[o.id] = o
		fw.offers[o.id] = o
		a.offers[o.id] = o
		batches[fw.id] = append(batches[fw.id], offerProto(fw, a, o))
		l.stats.OffersSent++
	}
	fwIDs := slices.AppendSeq(make([]string, 0, len(batches)), maps.Keys(batches))
	slices.Sort(fwIDs)
	for _, fwID := range fwIDs {
		l.frameworks[fwID].send(&scheduler.Event{
			Type:   scheduler.Event_OFFERS.Enum(),
			Offers: &scheduler.Event_Offers{Offers: batches[fwID]},
		})
	}
	l.sendInverseOffers()
}

func offerProto(fw *framework, a *agent, o *offer) *mesos.Offer {
	pb := &mesos.Offer{
		Id:          offerIDpb(o.id),
		FrameworkId: frameworkIDpb(fw.id),
		AgentId:     agentIDpb(a.id),
		Hostname:    proto.String(a.info.GetHostname()),
		Attributes:  cloneAttributes(a.info.GetAttributes()),
	}
	if fw.multiRole {
		pb.Resources = o.res.ToProtoAllocated(o.role)
		pb.AllocationInfo = &mesos.Resource_AllocationInfo{Role: proto.String(o.role)}
	} else {
		pb.Resources = o.res.ToProto()
	}
	if o.unavailability != nil {
		pb.Unavailability = proto.Clone(o.unavailability).(*mesos.Unavailability)
	}
	if execs := a.executors[fw.id]; len(execs) > 0 {
		for _, execID := range slices.Sorted(maps.Keys(execs)) {
			pb.ExecutorIds = append(pb.ExecutorIds, executorIDpb(execID))
		}
	}
	return pb
}

func cloneAttributes(in []*mesos.Attribute) []*mesos.Attribute {
	out := make([]*mesos.Attribute, len(in))
	for i, at := range in {
		out[i] = proto.Clone(at).(*mesos.Attribute)
	}
	return out
}

// removeOffer withdraws an offer and returns its resources to the allocator with a
// refuse filter; rescind tells the framework.
func (l *Ledger) removeOffer(o *offer, refuse time.Duration, rescind bool) {
	delete(l.offers, o.id)
	fw := l.frameworks[o.frameworkID]
	if fw != nil {
		delete(fw.offers, o.id)
	}
	a := l.agents[o.agentID]
	if a != nil {
		delete(a.offers, o.id)
	}
	l.alloc.RecoverRole(o.frameworkID, o.agentID, o.role, o.res, refuse, l.now())
	l.requestAllocation()
	if rescind && fw != nil {
		l.stats.OffersRescinded++
		fw.send(&scheduler.Event{Type: scheduler.Event_RESCIND.Enum(), Rescind: &scheduler.Event_Rescind{OfferId: offerIDpb(o.id)}})
	}
}

// checkOffers rescinds offers older than the offer timeout.
func (l *Ledger) checkOffers(now time.Time) {
	if l.cfg.OfferTimeout <= 0 {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(l.offers)) {
		o := l.offers[id]
		if now.Sub(o.created) >= l.cfg.OfferTimeout {
			l.removeOffer(o, 0, true)
		}
	}
}

func refuseDuration(f *mesos.Filters) time.Duration {
	if f == nil || f.RefuseSeconds == nil {
		return defaultRefuse
	}
	secs := f.GetRefuseSeconds()
	if secs <= 0 || secs != secs { // negative or NaN: no filter
		return 0
	}
	const maxSecs = 365 * 24 * 3600.0
	if secs > maxSecs {
		secs = maxSecs
	}
	return time.Duration(secs * float64(time.Second))
}
