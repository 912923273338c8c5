package master

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/master/httpapi"
	"github.com/agoracluster/agora/master/ledger"
	"github.com/agoracluster/agora/master/registry"
	masterpb "github.com/agoracluster/agora/proto/mesos/v1/master"
	"github.com/agoracluster/agora/store"
)

// loop is the one goroutine that owns the ledger: it runs requests from the HTTP
// handlers, the periodic tick, batched allocation cycles and refuse-filter
// expiries, one at a time, and after each carries out the effects the ledger handed
// out (registry writes, log lines) before anyone hears of the result.
type loop struct {
	interval time.Duration // of the safety tick
	batch    time.Duration // how long events are batched before a cycle
	clock    ledger.Clock
	reg      *registry.Registry
	log      *zap.Logger
	// observeAllocation records an allocation cycle's duration; nil drops it.
	observeAllocation func(time.Duration)
	// deposed, if set, is called when a registry write is fenced: another master
	// leads, so this loop must stop at once (its caller cancels run's context).
	deposed func()
	fenced  bool // a write was fenced; nothing more is carried out
	// publishOperator sends the operator API's events to its subscribers; nil
	// drops them.
	publishOperator func([]*masterpb.Event)

	reqs chan request
	done chan struct{} // closed when run returns
}

// request is one Do: f to run on the ledger, then, once the effects of f (and of the
// requests carried out with it) are carried out, err set and done closed.
type request struct {
	f    func(*ledger.Ledger)
	err  *error
	done chan struct{}
}

// maxGroup bounds the requests run before their effects are carried out together: a burst
// (thousands of agents subscribing) shares one registry round (its writes side by side)
// instead of one round each.
const maxGroup = 256

var _ httpapi.Loop = (*loop)(nil)

func newLoop(interval, batch time.Duration, clock ledger.Clock, reg *registry.Registry, log *zap.Logger) *loop {
	return &loop{
		interval: interval, batch: batch, clock: clock, reg: reg, log: log,
		reqs: make(chan request),
		done: make(chan struct{}),
	}
}

// run owns l until ctx is done.
func (lp *loop) run(ctx context.Context, l *ledger.Ledger) {
	defer close(lp.done)
	tick := time.NewTicker(lp.interval)
	defer tick.Stop()
	batch := time.NewTimer(time.Hour)
	batch.Stop()
	batchArmed := false
	filter := time.NewTimer(time.Hour)
	filter.Stop()
	defer batch.Stop()
	defer filter.Stop()
	for ctx.Err() == nil {
		select {
		case r := <-lp.reqs:
			lp.runGroup(l, r)
		case <-tick.C:
			l.Tick()
			_ = lp.carryOut(l) // a fenced write has called deposed
		case <-batch.C:
			batchArmed = false
			lp.allocate(l, filter)
		case <-filter.C:
			lp.allocate(l, filter)
		case <-ctx.Done():
			return
		}
		if l.AllocationPending() && !batchArmed {
			batch.Reset(lp.batch)
			batchArmed = true
		}
	}
}

// allocate runs an allocation cycle and arms filter for the next refuse-filter
// expiry.
func (lp *loop) allocate(l *ledger.Ledger, filter *time.Timer) {
	start := time.Now()
	l.Allocate()
	if lp.observeAllocation != nil {
		lp.observeAllocation(time.Since(start))
	}
	_ = lp.carryOut(l) // a fenced write has called deposed
	if t, ok := l.NextFilterExpiry(); ok {
		filter.Reset(max(t.Sub(lp.clock.Now()), time.Millisecond))
	}
}

// carryOut carries out the effects of the ledger's last events: it logs the
// ledger's notes and applies its registry changes. A failed write is logged; the
// ledger stays authoritative. A fenced write (another master leads) calls deposed
// and returns an error, and from then on nothing is written.
func (lp *loop) carryOut(l *ledger.Ledger) error {
	e := l.TakeEffects()
	for _, n := range e.Notes {
		lp.log.Log(n.Level, n.Message, n.Fields...)
	}
	if lp.fenced {
		return errDeposed
	}
	if lp.publishOperator != nil {
		lp.publishOperator(e.OperatorEvents)
	}
	if !e.Writes.Empty() {
		if err := lp.reg.Apply(context.Background(), e.Writes); err != nil {
			if errors.Is(err, store.ErrFenced) {
				lp.log.Error("registry write fenced: another master leads; stepping down", zap.Error(err))
				lp.fenced = true
				if lp.deposed != nil {
					lp.deposed()
				}
				return errDeposed
			}
			lp.log.Error("registry write failed", zap.Error(err))
		}
	}
	return nil
}

// errDeposed is what calls hear once the loop's registry writes are fenced.
var errDeposed = fmt.Errorf("master: no longer the leading master: %w", httpapi.ErrStopped)

// runGroup runs first and the requests already waiting (up to maxGroup in all), then
// carries out their effects once (group commit) and answers them all.
func (lp *loop) runGroup(l *ledger.Ledger, first request) {
	group := []request{first}
	first.f(l)
drain:
	for len(group) < maxGroup {
		select {
		case r := <-lp.reqs:
			r.f(l)
			group = append(group, r)
		default:
			break drain
		}
	}
	err := lp.carryOut(l)
	for _, r := range group {
		*r.err = err
		close(r.done)
	}
}

// Do runs f on the loop and waits for it, and for the effects it caused to be
// carried out.
func (lp *loop) Do(ctx context.Context, f func(*ledger.Ledger)) error {
	var err error
	req := request{f: f, err: &err, done: make(chan struct{})}
	done := req.done
	select {
	case lp.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-lp.done:
		return fmt.Errorf("master: %w", httpapi.ErrStopped)
	}
	select {
	case <-done:
		return err
	case <-lp.done:
		return fmt.Errorf("master: %w", httpapi.ErrStopped)
	}
}
