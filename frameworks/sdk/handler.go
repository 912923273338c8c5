package sdk

import (
	"context"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
)

// Handler receives the scheduler's events. The Scheduler calls it from the goroutine that
// runs Run, one event at a time, in stream order; the Scheduler passed in may be used to make
// calls. Embed NoopHandler to implement only the events you care about.
type Handler interface {
	// Subscribed is called after every successful (re)subscription, before reconciliation.
	Subscribed(ctx context.Context, s *Scheduler, ev *scheduler.Event_Subscribed)
	// Offers delivers new offers. Every offer must eventually be accepted or declined.
	Offers(ctx context.Context, s *Scheduler, offers []*mesos.Offer)
	// Rescind says that an offer is no longer valid.
	Rescind(ctx context.Context, s *Scheduler, offerID *mesos.OfferID)
	// Update delivers a task status update. With AutoAcknowledge it is acknowledged after
	// Update returns.
	Update(ctx context.Context, s *Scheduler, status *mesos.TaskStatus)
	// Message delivers data sent by an executor.
	Message(ctx context.Context, s *Scheduler, msg *scheduler.Event_Message)
	// Failure reports a lost agent (no executor id) or a terminated executor.
	Failure(ctx context.Context, s *Scheduler, f *scheduler.Event_Failure)
	// Error reports a fatal error from the master (e.g. the framework was removed); Run
	// returns an *ErrorEvent afterwards.
	Error(ctx context.Context, s *Scheduler, message string)
	// Disconnected is called when a subscription attempt fails or the stream ends; err says
	// why. The Scheduler re-subscribes after a back-off.
	Disconnected(ctx context.Context, s *Scheduler, err error)
}

// InverseOfferHandler is implemented by handlers that take part in maintenance: the
// master sends inverse offers for agents on machines scheduled for maintenance where the
// framework runs something, asking for those resources back before the unavailability
// starts. Answer with AcceptInverseOffers (the framework will have moved off, or does not
// mind) or DeclineInverseOffers; an inverse offer may also go unanswered. A Handler that
// does not implement it never sees inverse offers.
type InverseOfferHandler interface {
	// InverseOffers delivers new inverse offers.
	InverseOffers(ctx context.Context, s *Scheduler, inverse []*mesos.InverseOffer)
	// RescindInverseOffer says that an inverse offer is no longer valid (the machine's
	// maintenance changed or ended).
	RescindInverseOffer(ctx context.Context, s *Scheduler, id *mesos.OfferID)
}

// NoopHandler implements Handler with defaults: Offers declines every offer (with
// Config.DefaultRefuse); all other events are ignored. Embed it in your own handler.
type NoopHandler struct{}

var _ Handler = NoopHandler{}

// Subscribed implements Handler.
func (NoopHandler) Subscribed(context.Context, *Scheduler, *scheduler.Event_Subscribed) {}

// Offers implements Handler by declining all offers.
func (NoopHandler) Offers(ctx context.Context, s *Scheduler, offers []*mesos.Offer) {
	if err := s.DeclineOffers(ctx, offers, s.cfg.DefaultRefuse); err != nil {
		s.log.Warn("decline offers", zapError(err))
	}
}

// Rescind implements Handler.
func (NoopHandler) Rescind(context.Context, *Scheduler, *mesos.OfferID) {}

// Update implements Handler.
func (NoopHandler) Update(context.Context, *Scheduler, *mesos.TaskStatus) {}

// Message implements Handler.
func (NoopHandler) Message(context.Context, *Scheduler, *scheduler.Event_Message) {}

// Failure implements Handler.
func (NoopHandler) Failure(context.Context, *Scheduler, *scheduler.Event_Failure) {}

// Error implements Handler.
func (NoopHandler) Error(context.Context, *Scheduler, string) {}

// Disconnected implements Handler.
func (NoopHandler) Disconnected(context.Context, *Scheduler, error) {}
