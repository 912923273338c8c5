// Package autoscale is Agora's autoscaling of Marathon apps. Its pure core (this file) is
// the policy an app's labels configure, the per-app usage computed from agents'
// per-container statistics (/monitor/statistics), and the controller that decides, with an
// injected clock, when an app is scaled and to how many instances. The Runner (runner.go)
// drives it: each round it samples the agents that run autoscaled tasks (one request per
// agent, whatever the number of apps), feeds the samples in and applies the decisions as
// scale deployments, all through edges it is given (Deps).
package autoscale

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/agoracluster/agora/duration"
)

// The labels that configure an app's autoscaling (in the style of marathon-autoscale).
// MIN and MAX and at least one target are required once any of them is set.
const (
	LabelPrefix       = "AGORA_AUTOSCALE_"
	LabelMinInstances = LabelPrefix + "MIN_INSTANCES"
	LabelMaxInstances = LabelPrefix + "MAX_INSTANCES"
	// LabelTargetCPU is the target CPU utilisation: the used share of the instance's
	// allocated cpus (0 < t <= 1, e.g. 0.6).
	LabelTargetCPU = LabelPrefix + "TARGET_CPU"
	// LabelTargetMem is the target memory utilisation: resident memory over the
	// instance's mem limit (0 < t <= 1).
	LabelTargetMem = LabelPrefix + "TARGET_MEM"
	// LabelTargetRPS is the target rate of requests per second per instance through the
	// load balancer (`agora lb`: HTTP requests by virtual host, connections by service
	// port), read from the balancers Marathon is given (--autoscale_lb_url).
	LabelTargetRPS = LabelPrefix + "TARGET_RPS"
	// LabelCooldownUp and LabelCooldownDown are the least time between two scalings up
	// (down) of the app, and since any scaling (a duration: 30s, 2mins).
	LabelCooldownUp   = LabelPrefix + "COOLDOWN_UP"
	LabelCooldownDown = LabelPrefix + "COOLDOWN_DOWN"
	// LabelTolerance is the hysteresis band: no scaling while the utilisation is within
	// target×(1±tolerance) (default 0.1).
	LabelTolerance = LabelPrefix + "TOLERANCE"
)

// Defaults of the optional labels.
const (
	DefaultCooldownUp   = time.Minute
	DefaultCooldownDown = 5 * time.Minute
	DefaultTolerance    = 0.1
)

// Policy is an app's autoscaling configuration.
type Policy struct {
	Min, Max                 int
	TargetCPU, TargetMem     float64 // 0: not a target
	TargetRPS                float64 // requests per second per instance; 0: not a target
	CooldownUp, CooldownDown time.Duration
	Tolerance                float64
}

// MarshalJSON renders the policy with its durations in seconds.
func (p Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Min                 int     `json:"minInstances"`
		Max                 int     `json:"maxInstances"`
		TargetCPU           float64 `json:"targetCpu,omitempty"`
		TargetMem           float64 `json:"targetMem,omitempty"`
		TargetRPS           float64 `json:"targetRps,omitempty"`
		CooldownUpSeconds   float64 `json:"cooldownUpSeconds"`
		CooldownDownSeconds float64 `json:"cooldownDownSeconds"`
		Tolerance           float64 `json:"tolerance"`
	}{p.Min, p.Max, p.TargetCPU, p.TargetMem, p.TargetRPS, p.CooldownUp.Seconds(), p.CooldownDown.Seconds(), p.Tolerance})
}

// PolicyFromLabels reads an app's policy: nil without any AGORA_AUTOSCALE_ label, an
// error naming every bad or missing label otherwise.
func PolicyFromLabels(labels map[string]string) (*Policy, error) {
	any := false
	for k := range labels {
		if strings.HasPrefix(k, LabelPrefix) {
			any = true
		}
	}
	if !any {
		return nil, nil
	}
	p := &Policy{CooldownUp: DefaultCooldownUp, CooldownDown: DefaultCooldownDown, Tolerance: DefaultTolerance}
	var errs []error
	intLabel := func(name string, dst *int) {
		v, ok := labels[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: required", name))
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a non-negative integer", name, v))
			return
		}
		*dst = n
	}
	fracLabel := func(name string, dst *float64, max float64) {
		v, ok := labels[name]
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch {
		case (err != nil || f <= 0 || math.IsNaN(f) || math.IsInf(f, 0)) && math.IsInf(max, 1):
			errs = append(errs, fmt.Errorf("%s: %q must be a positive number", name, v))
			return
		case err != nil || f <= 0 || f > max || math.IsNaN(f):
			errs = append(errs, fmt.Errorf("%s: %q must be a number in (0, %g]", name, v, max))
			return
		}
		*dst = f
	}
	durLabel := func(name string, dst *time.Duration) {
		v, ok := labels[name]
		if !ok {
			return
		}
		d, err := duration.Parse(strings.TrimSpace(v))
		if err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (30s, 2mins)", name, v))
			return
		}
		*dst = d
	}
	intLabel(LabelMinInstances, &p.Min)
	intLabel(LabelMaxInstances, &p.Max)
	fracLabel(LabelTargetCPU, &p.TargetCPU, 1)
	fracLabel(LabelTargetMem, &p.TargetMem, 1)
	fracLabel(LabelTargetRPS, &p.TargetRPS, math.Inf(1))
	durLabel(LabelCooldownUp, &p.CooldownUp)
	durLabel(LabelCooldownDown, &p.CooldownDown)
	if v, ok := labels[LabelTolerance]; ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || f >= 1 {
			errs = append(errs, fmt.Errorf("%s: %q must be a number in [0, 1)", LabelTolerance, v))
		} else {
			p.Tolerance = f
		}
	}
	_, cpu := labels[LabelTargetCPU]
	_, mem := labels[LabelTargetMem]
	if _, rps := labels[LabelTargetRPS]; !cpu && !mem && !rps {
		errs = append(errs, fmt.Errorf("%s, %s or %s: one target is required", LabelTargetCPU, LabelTargetMem, LabelTargetRPS))
	}
	if len(errs) == 0 && p.Max < p.Min {
		errs = append(errs, fmt.Errorf("%s: %d is below %s %d", LabelMaxInstances, p.Max, LabelMinInstances, p.Min))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Problems lists the problems of PolicyFromLabels's error, one per bad or missing label.
func Problems(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	if err != nil {
		out = append(out, err.Error())
	}
	return out
}

// Usage is an app's measured utilisation: the mean over its sampled instances.
type Usage struct {
	Instances int     // how many instances were measured (0: no data)
	CPU       float64 // used share of the allocated cpus
	Mem       float64 // resident memory over the mem limit
	// RPS is the rate of requests through the load balancers per running instance, when
	// RPSMeasured.
	RPS         float64
	RPSMeasured bool
}

// Decision is one scaling of one app.
type Decision struct {
	AppID  string    `json:"appId"`
	From   int       `json:"from"`
	To     int       `json:"to"`
	Reason string    `json:"reason"`
	CPU    float64   `json:"cpuUtilization"`
	Mem    float64   `json:"memUtilization"`
	RPS    float64   `json:"requestsPerSecond,omitempty"` // per instance
	At     time.Time `json:"timestamp"`
}

// Controller remembers when each app was last scaled, for the cool-downs.
type Controller struct {
	last map[string]time.Time
}

// NewController returns a controller that has scaled nothing yet.
func NewController() *Controller { return &Controller{last: map[string]time.Time{}} }

// Forget drops what the controller knows of an app (deleted, or no longer autoscaled).
func (c *Controller) Forget(appID string) { delete(c.last, appID) }

// Decide says whether app appID, at current instances with usage u under policy p,
// is to be scaled at now, and to how many instances. An app outside [Min, Max] is
// brought inside at once; otherwise the instances follow the utilisation proportionally
// (desired = ceil(current × utilisation/target), the largest of the measured CPU, memory
// and request-rate ratios), outside the tolerance band only, and not within the cool-down
// since the last scaling.
func (c *Controller) Decide(now time.Time, appID string, p Policy, current int, u Usage) (Decision, bool) {
	d := Decision{AppID: appID, From: current, CPU: u.CPU, Mem: u.Mem, RPS: u.RPS, At: now}
	switch {
	case current < p.Min:
		d.To, d.Reason = p.Min, "below the minimum instances"
	case current > p.Max:
		d.To, d.Reason = p.Max, "above the maximum instances"
	default:
		ratio, what, measured := 0.0, "", false
		consider := func(r float64, name string) {
			if !measured || r > ratio {
				ratio, what, measured = r, name, true
			}
		}
		if u.Instances > 0 && p.TargetCPU > 0 {
			consider(u.CPU/p.TargetCPU, "cpu")
		}
		if u.Instances > 0 && p.TargetMem > 0 {
			consider(u.Mem/p.TargetMem, "mem")
		}
		if u.RPSMeasured && p.TargetRPS > 0 {
			consider(u.RPS/p.TargetRPS, "request rate")
		}
		if !measured || current == 0 {
			return Decision{}, false
		}
		last, scaled := c.last[appID]
		switch {
		case ratio > 1+p.Tolerance:
			if scaled && now.Sub(last) < p.CooldownUp {
				return Decision{}, false
			}
			d.To = min(p.Max, int(math.Ceil(float64(current)*ratio)))
			d.Reason = fmt.Sprintf("%s utilisation %.2f of target above the tolerance", what, ratio)
		case ratio < 1-p.Tolerance:
			if scaled && now.Sub(last) < p.CooldownDown {
				return Decision{}, false
			}
			d.To = max(p.Min, int(math.Ceil(float64(current)*ratio)))
			d.Reason = fmt.Sprintf("%s utilisation %.2f of target below the tolerance", what, ratio)
		default:
			return Decision{}, false
		}
	}
	if d.To == current {
		return Decision{}, false
	}
	c.last[appID] = now
	return d, true
}

// Sample is one executor's cumulative usage as an agent's /monitor/statistics gives it.
type Sample struct {
	Timestamp        float64 // seconds
	CPUSecs          float64 // user + system
	CPULimit         float64
	MemRSS, MemLimit uint64
}

// Usages turns two rounds of samples (by executor id, the earlier one prev) into each
// app's usage; appOf maps an executor id to its app (false: not an autoscaled app's).
// An executor's CPU share is its CPU time over the elapsed time and its cpu limit; one
// without an earlier sample (just started) is left out until the next round.
func Usages(prev, cur map[string]Sample, appOf func(executorID string) (string, bool)) map[string]Usage {
	type acc struct {
		n        int
		cpu, mem float64
	}
	sums := map[string]*acc{}
	for id, s := range cur {
		app, ok := appOf(id)
		if !ok {
			continue
		}
		p, seen := prev[id]
		if !seen || s.Timestamp <= p.Timestamp || s.CPULimit <= 0 {
			continue
		}
		a := sums[app]
		if a == nil {
			a = &acc{}
			sums[app] = a
		}
		a.n++
		a.cpu += max(0, s.CPUSecs-p.CPUSecs) / (s.Timestamp - p.Timestamp) / s.CPULimit
		if s.MemLimit > 0 {
			a.mem += float64(s.MemRSS) / float64(s.MemLimit)
		}
	}
	out := make(map[string]Usage, len(sums))
	for app, a := range sums {
		out[app] = Usage{Instances: a.n, CPU: a.cpu / float64(a.n), Mem: a.mem / float64(a.n)}
	}
	return out
}

// LBReading is what the load balancers had counted at At: the requests (HTTP requests and
// TCP connections) each app was sent, cumulative, by app id.
type LBReading struct {
	At       time.Time
	Requests map[string]int64
}

// RequestRates turns two readings (prev the earlier) into each app's requests per second.
// An app missing from either reading, or whose count went down (a balancer restarted), is
// left out until the next round.
func RequestRates(prev, cur LBReading) map[string]float64 {
	dt := cur.At.Sub(prev.At).Seconds()
	out := map[string]float64{}
	if dt <= 0 {
		return out
	}
	for app, n := range cur.Requests {
		p, ok := prev.Requests[app]
		if !ok || n < p {
			continue
		}
		out[app] = float64(n-p) / dt
	}
	return out
}
