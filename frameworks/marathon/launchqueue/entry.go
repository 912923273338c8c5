package launchqueue

import "time"

// Entry is the launch queue of one app: how many tasks of which config version wait for
// offers, since when, and what the offers that came meanwhile said.
type Entry struct {
	Version string // the planner's config version
	Count   int
	Since   time.Time
	Stats   OfferStats
}

// OfferStats feeds Marathon's processedOffersSummary of a queue entry.
type OfferStats struct {
	Processed    int
	Unused       int
	LastUnusedAt time.Time
	LastUsedAt   time.Time
	Last         ReasonCounts // the last round of offers
	Attempt      ReasonCounts // since the launch attempt started
	LastUnused   []UnusedOffer
}

// ReasonCounts counts offers processed and declined per reason.
type ReasonCounts struct {
	Processed int
	Declined  map[string]int
}

// Add counts processed offers and those declined, by reason.
func (r *ReasonCounts) Add(processed int, declined map[string]int) {
	r.Processed += processed
	if r.Declined == nil {
		r.Declined = map[string]int{}
	}
	for k, v := range declined {
		r.Declined[k] += v
	}
}

// UnusedOffer is an offer that a round of matching left unused for an app, with why.
type UnusedOffer struct {
	OfferID, AgentID, Hostname string
	Reasons                    []string
	At                         time.Time
}
