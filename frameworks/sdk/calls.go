package sdk

import (
	"context"
	"fmt"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/proto/mesos/v1/scheduler"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// call sends c on the current subscription and waits for the master's 202.
func (s *Scheduler) call(ctx context.Context, c *scheduler.Call) error {
	s.mu.Lock()
	sess, tornDown := s.session, s.tornDown
	s.mu.Unlock()
	if tornDown && c.GetType() != scheduler.Call_TEARDOWN {
		return fmt.Errorf("%s: %w (framework torn down)", c.GetType(), ErrNotSubscribed)
	}
	if sess == nil {
		return fmt.Errorf("%s: %w", c.GetType(), ErrNotSubscribed)
	}
	c.FrameworkId = sess.frameworkID
	ctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
	defer cancel()
	resp, err := s.post(ctx, sess.endpoint, c, sess.streamID)
	if err != nil {
		return err
	}
	drainClose(resp.Body)
	return nil
}

// Launch accepts one offer with a LAUNCH of tasks. A task without an agent id gets the
// offer's agent (the offer must have been delivered on the current subscription).
func (s *Scheduler) Launch(ctx context.Context, offerID *mesos.OfferID, tasks ...*mesos.TaskInfo) error {
	var agent *mesos.AgentID
	for _, t := range tasks {
		if t.AgentId != nil {
			continue
		}
		if agent == nil {
			s.mu.Lock()
			agent = s.offers[offerID.GetValue()]
			s.mu.Unlock()
			if agent == nil {
				return fmt.Errorf("sdk: launch on offer %s: %w", offerID.GetValue(), ErrUnknownOffer)
			}
		}
		t.AgentId = proto.Clone(agent).(*mesos.AgentID)
	}
	return s.Accept(ctx, []*mesos.OfferID{offerID}, []*mesos.Offer_Operation{LaunchOp(tasks...)}, nil)
}

// Accept accepts offers with operations; filters may be nil (the master's default).
// Resources of the offers that the operations do not use are declined.
func (s *Scheduler) Accept(ctx context.Context, offerIDs []*mesos.OfferID, ops []*mesos.Offer_Operation, filters *mesos.Filters) error {
	s.forgetOffers(offerIDs)
	return s.call(ctx, &scheduler.Call{
		Type:   scheduler.Call_ACCEPT.Enum(),
		Accept: &scheduler.Call_Accept{OfferIds: offerIDs, Operations: ops, Filters: filters},
	})
}

// Decline declines offers; the master withholds their resources from this framework for
// refuse (0 means the master's default of 5s).
func (s *Scheduler) Decline(ctx context.Context, offerIDs []*mesos.OfferID, refuse time.Duration) error {
	if len(offerIDs) == 0 {
		return nil
	}
	s.forgetOffers(offerIDs)
	return s.call(ctx, &scheduler.Call{
		Type:    scheduler.Call_DECLINE.Enum(),
		Decline: &scheduler.Call_Decline{OfferIds: offerIDs, Filters: RefuseFilter(refuse)},
	})
}

// AcceptInverseOffers tells the master that the framework gives up (or does not mind
// losing) what it uses on the inverse offers' agents.
func (s *Scheduler) AcceptInverseOffers(ctx context.Context, ids []*mesos.OfferID) error {
	if len(ids) == 0 {
		return nil
	}
	return s.call(ctx, &scheduler.Call{
		Type:                scheduler.Call_ACCEPT_INVERSE_OFFERS.Enum(),
		AcceptInverseOffers: &scheduler.Call_AcceptInverseOffers{InverseOfferIds: ids},
	})
}

// DeclineInverseOffers tells the master that the framework cannot give up what it uses
// on the inverse offers' agents (yet).
func (s *Scheduler) DeclineInverseOffers(ctx context.Context, ids []*mesos.OfferID) error {
	if len(ids) == 0 {
		return nil
	}
	return s.call(ctx, &scheduler.Call{
		Type:                 scheduler.Call_DECLINE_INVERSE_OFFERS.Enum(),
		DeclineInverseOffers: &scheduler.Call_DeclineInverseOffers{InverseOfferIds: ids},
	})
}

// DeclineOffers declines whole offers (see Decline).
func (s *Scheduler) DeclineOffers(ctx context.Context, offers []*mesos.Offer, refuse time.Duration) error {
	return s.Decline(ctx, OfferIDs(offers), refuse)
}

func (s *Scheduler) forgetOffers(ids []*mesos.OfferID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		delete(s.offers, id.GetValue())
	}
}

// Kill asks the master to kill a task; agentID may be nil when unknown.
func (s *Scheduler) Kill(ctx context.Context, taskID *mesos.TaskID, agentID *mesos.AgentID) error {
	return s.call(ctx, &scheduler.Call{
		Type: scheduler.Call_KILL.Enum(),
		Kill: &scheduler.Call_Kill{TaskId: taskID, AgentId: agentID},
	})
}

// Shutdown asks the agent to shut down one executor (and its tasks).
func (s *Scheduler) Shutdown(ctx context.Context, executorID *mesos.ExecutorID, agentID *mesos.AgentID) error {
	return s.call(ctx, &scheduler.Call{
		Type:     scheduler.Call_SHUTDOWN.Enum(),
		Shutdown: &scheduler.Call_Shutdown{ExecutorId: executorID, AgentId: agentID},
	})
}

// Revive clears the framework's filters and resumes offers for roles (none: all roles).
// Prefer SetWantOffers, which sends REVIVE/SUPPRESS only on changes.
func (s *Scheduler) Revive(ctx context.Context, roles ...string) error {
	return s.call(ctx, &scheduler.Call{
		Type:   scheduler.Call_REVIVE.Enum(),
		Revive: &scheduler.Call_Revive{Roles: roles},
	})
}

// Suppress stops offers for roles (none: all roles) until the next Revive.
func (s *Scheduler) Suppress(ctx context.Context, roles ...string) error {
	return s.call(ctx, &scheduler.Call{
		Type:     scheduler.Call_SUPPRESS.Enum(),
		Suppress: &scheduler.Call_Suppress{Roles: roles},
	})
}

// SetWantOffers records whether the framework wants offers and tells the master with
// SUPPRESS or REVIVE only when the wish differs from what the master was last told. While
// disconnected the wish is kept and applied with the next subscription.
func (s *Scheduler) SetWantOffers(ctx context.Context, want bool) error {
	s.mu.Lock()
	s.want = want
	s.mu.Unlock()
	return s.syncWantOffers(ctx)
}

// WantOffers reports the framework's current wish (see SetWantOffers).
func (s *Scheduler) WantOffers() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.want
}

func (s *Scheduler) syncWantOffers(ctx context.Context) error {
	s.wantMu.Lock()
	defer s.wantMu.Unlock()
	s.mu.Lock()
	want, sent, subscribed := s.want, s.sentWant, s.session != nil
	s.mu.Unlock()
	if !subscribed || want == sent {
		return nil
	}
	var err error
	if want {
		err = s.Revive(ctx)
	} else {
		err = s.Suppress(ctx)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.sentWant = want
	s.mu.Unlock()
	s.log.Debug("offer wish sent", zap.Bool("want_offers", want))
	return nil
}

// Acknowledge acknowledges a status update that carries a uuid. With AutoAcknowledge (the
// default) the Scheduler does this itself.
func (s *Scheduler) Acknowledge(ctx context.Context, status *mesos.TaskStatus) error {
	if len(status.GetUuid()) == 0 {
		return nil
	}
	return s.call(ctx, &scheduler.Call{
		Type: scheduler.Call_ACKNOWLEDGE.Enum(),
		Acknowledge: &scheduler.Call_Acknowledge{
			AgentId: status.GetAgentId(),
			TaskId:  status.GetTaskId(),
			Uuid:    status.GetUuid(),
		},
	})
}

// Reconcile asks for the latest state of tasks; with no tasks it is implicit reconciliation
// (the master sends the state of every task it knows for this framework).
func (s *Scheduler) Reconcile(ctx context.Context, tasks ...*scheduler.Call_Reconcile_Task) error {
	return s.call(ctx, &scheduler.Call{
		Type:      scheduler.Call_RECONCILE.Enum(),
		Reconcile: &scheduler.Call_Reconcile{Tasks: tasks},
	})
}

// Message sends data to an executor.
func (s *Scheduler) Message(ctx context.Context, agentID *mesos.AgentID, executorID *mesos.ExecutorID, data []byte) error {
	return s.call(ctx, &scheduler.Call{
		Type:    scheduler.Call_MESSAGE.Enum(),
		Message: &scheduler.Call_Message{AgentId: agentID, ExecutorId: executorID, Data: data},
	})
}

// Teardown removes the framework: the master kills its tasks and forgets it. Run returns
// nil afterwards, and the stored framework id is cleared.
func (s *Scheduler) Teardown(ctx context.Context) error {
	// Mark first: the master may close the stream before its 202 arrives here.
	s.mu.Lock()
	s.tornDown = true
	s.mu.Unlock()
	if err := s.call(ctx, &scheduler.Call{Type: scheduler.Call_TEARDOWN.Enum()}); err != nil {
		s.mu.Lock()
		s.tornDown = false
		s.mu.Unlock()
		return err
	}
	s.mu.Lock()
	s.framework.Id = nil
	if s.streamCancel != nil {
		s.streamCancel(errTornDown)
	}
	s.mu.Unlock()
	if err := s.cfg.FrameworkIDStore.Save(ctx, ""); err != nil {
		return fmt.Errorf("sdk: clear framework id: %w", err)
	}
	return nil
}
