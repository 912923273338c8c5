package offers

import (
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
)

// Pool is a batch of offers that tasks are placed on first-fit, in offer order. It is not
// safe for concurrent use.
type Pool struct {
	offers []*Offer
}

// NewPool wraps offers (see New).
func NewPool(offers []*mesos.Offer) *Pool {
	p := &Pool{offers: make([]*Offer, len(offers))}
	for i, o := range offers {
		p.offers[i] = New(o)
	}
	return p
}

// Offers returns the wrapped offers in order.
func (p *Pool) Offers() []*Offer { return p.offers }

// Take takes need from the first offer it fits in (see Offer.Take).
func (p *Pool) Take(need resources.Resources) (*Offer, resources.Resources, bool) {
	for _, o := range p.offers {
		if got, ok := o.Take(need); ok {
			return o, got, true
		}
	}
	return nil, resources.Resources{}, false
}

// TakeTask takes need plus n ports from the first offer that holds both (see
// Offer.TakeTask).
func (p *Pool) TakeTask(need resources.Resources, n int) (*Offer, resources.Resources, []uint64, bool) {
	for _, o := range p.offers {
		if got, ports, ok := o.TakeTask(need, n); ok {
			return o, got, ports, true
		}
	}
	return nil, resources.Resources{}, nil, false
}

// Used returns the offers that something was taken from.
func (p *Pool) Used() []*Offer {
	var out []*Offer
	for _, o := range p.offers {
		if o.Used() {
			out = append(out, o)
		}
	}
	return out
}

// Unused returns the ids of the offers nothing was taken from, to decline.
func (p *Pool) Unused() []*mesos.OfferID {
	var out []*mesos.OfferID
	for _, o := range p.offers {
		if !o.Used() {
			out = append(out, o.ID())
		}
	}
	return out
}
