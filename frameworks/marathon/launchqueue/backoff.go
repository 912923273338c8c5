package launchqueue

import (
	"math"
	"slices"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

// Key identifies the launch delay of one version of an app: a new config
// version starts again from backoffSeconds.
type Key struct {
	AppID   string
	Version string
}

// Policy is an app's back-off settings.
type Policy struct {
	Backoff        time.Duration
	Factor         float64
	MaxLaunchDelay time.Duration
}

// PolicyOf reads the back-off settings of an app definition.
func PolicyOf(a *app.App) Policy {
	return Policy{
		Backoff:        time.Duration(a.BackoffSeconds) * time.Second,
		Factor:         a.BackoffFactor,
		MaxLaunchDelay: time.Duration(a.MaxLaunchDelaySeconds) * time.Second,
	}
}

type delay struct {
	current  time.Duration // the delay applied after the last failure
	deadline time.Time     // no launch before this
	max      time.Duration
}

// Backoff tracks launch delays. The zero value is not usable; use NewBackoff.
type Backoff struct {
	delays map[Key]delay
}

// NewBackoff returns an empty Backoff.
func NewBackoff() *Backoff { return &Backoff{delays: map[Key]delay{}} }

// Failed records that a task of k failed (or was killed for failing health
// checks) at now and returns the time before which no new task of k may be
// launched. The first failure delays by backoffSeconds, each further one
// multiplies the delay by backoffFactor, capped at maxLaunchDelaySeconds:
// after n+1 failures the delay is min(backoff × factor^n, maxLaunchDelay).
func (b *Backoff) Failed(k Key, p Policy, now time.Time) time.Time {
	d, ok := b.delays[k]
	if !ok {
		d = delay{current: p.Backoff}
	} else {
		next := float64(d.current) * p.Factor
		if next > float64(math.MaxInt64) {
			next = float64(math.MaxInt64)
		}
		d.current = time.Duration(next)
	}
	if d.current > p.MaxLaunchDelay {
		d.current = p.MaxLaunchDelay
	}
	if d.current < 0 {
		d.current = 0
	}
	d.max = p.MaxLaunchDelay
	d.deadline = now.Add(d.current)
	b.delays[k] = d
	return d.deadline
}

// Delayed reports whether launches of k must wait at now, and until when.
func (b *Backoff) Delayed(k Key, now time.Time) (until time.Time, delayed bool) {
	d, ok := b.delays[k]
	if !ok || !now.Before(d.deadline) {
		return time.Time{}, false
	}
	return d.deadline, true
}

// Info is the "delay" object of a /v2/queue entry.
type Info struct {
	TimeLeftSeconds int64 `json:"timeLeftSeconds"`
	Overdue         bool  `json:"overdue"`
}

// Info reports k's delay for /v2/queue: the whole seconds left (rounded up)
// and whether the delay is over while launches are still waiting
// (waiting tells that).
func (b *Backoff) Info(k Key, waiting bool, now time.Time) Info {
	d, ok := b.delays[k]
	if !ok || !now.Before(d.deadline) {
		return Info{Overdue: waiting}
	}
	left := d.deadline.Sub(now)
	return Info{TimeLeftSeconds: int64((left + time.Second - 1) / time.Second)}
}

// Reset drops the delays of every version of an app: DELETE
// /v2/queue/{id}/delay, a new deployment of the app, or its deletion.
func (b *Backoff) Reset(appID string) {
	for k := range b.delays {
		if k.AppID == appID {
			delete(b.delays, k)
		}
	}
}

// Expire drops delays that ended more than their maxLaunchDelay ago, so an
// app that has been stable that long starts again from backoffSeconds.
func (b *Backoff) Expire(now time.Time) {
	for k, d := range b.delays {
		if now.Sub(d.deadline) > d.max {
			delete(b.delays, k)
		}
	}
}

// NextDeadline returns the earliest pending deadline after now, so the
// loop can schedule its next wake-up.
func (b *Backoff) NextDeadline(now time.Time) (time.Time, bool) {
	var ds []time.Time
	for _, d := range b.delays {
		if d.deadline.After(now) {
			ds = append(ds, d.deadline)
		}
	}
	if len(ds) == 0 {
		return time.Time{}, false
	}
	return slices.MinFunc(ds, time.Time.Compare), true
}
