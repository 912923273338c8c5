package job

import (
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	// Time zones are validated and evaluated from Go's embedded copy of the IANA database, so
	// a schedule means the same on every machine, whatever its /usr/share/zoneinfo holds.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	"github.com/agoracluster/agora/frameworks/marathon/constraints"
)

// Limits beyond Metronome's own rules, so that no value overflows a time.Duration or makes the
// framework allocate without bound.
const (
	MaxIDLength    = 255
	MaxSeconds     = math.MaxInt32 // any *Seconds field and maxLaunchDelay
	MaxCompletions = 100000        // completions and parallelism
)

var idPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

// MsgID is the error for an id outside the grammar.
const MsgID = "must be dotted lowercase segments of a-z, 0-9 and '-' (not at a segment's start or end), e.g. prod.backup-db"

// ValidateID reports whether id is a valid job (or schedule) id.
func ValidateID(id string) error {
	if msg := idError(id); msg != "" {
		return fmt.Errorf("job: id %q: %s", id, msg)
	}
	return nil
}

func idError(id string) string {
	switch {
	case id == "":
		return "must not be empty"
	case len(id) > MaxIDLength:
		return fmt.Sprintf("must be at most %d characters", MaxIDLength)
	case !idPattern.MatchString(id):
		return MsgID
	}
	return ""
}

// ValidateSpec checks every field of a decoded spec and returns an *InvalidError listing every
// problem, or nil.
func ValidateSpec(s *Spec) error {
	p := &problems{}
	validateSpec(s, p)
	return p.err()
}

func validateSpec(s *Spec, p *problems) {
	if msg := idError(s.ID); msg != "" {
		p.add("/id", msg)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		if k == "" {
			p.add("/labels", "label keys must not be empty")
		}
	}
	seen := map[string]int{}
	for i, d := range s.Dependencies {
		path := idx("/dependencies", i)
		if msg := idError(d); msg != "" {
			p.add(path, msg)
			continue
		}
		if d == s.ID {
			p.add(path, "a job cannot depend on itself")
		}
		if j, dup := seen[d]; dup {
			p.addf(path, "duplicates /dependencies(%d)", j)
		}
		seen[d] = i
	}
	validateRun(&s.Run, p)
}

func validateRun(r *RunSpec, p *problems) {
	hasCmd, hasArgs := r.Cmd != "", len(r.Args) > 0
	if hasCmd && hasArgs {
		p.add("/run", "cmd and args are mutually exclusive: give one of them")
	}
	if !hasCmd && !hasArgs && r.Docker == nil {
		p.add("/run", "one of cmd, args or docker.image must be given")
	}
	positive(p, "/run/cpus", r.CPUs)
	positive(p, "/run/mem", r.Mem)
	if !(r.Disk >= 0) || math.IsInf(r.Disk, 0) {
		p.addf("/run/disk", "got %s, expected 0.0 or more", float(r.Disk))
	}
	if r.GPUs < 0 {
		p.addf("/run/gpus", "got %d, expected 0 or more", r.GPUs)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Env)) {
		path := "/run/env/" + escapeKey(k)
		switch {
		case k == "":
			p.add("/run/env", "variable names must not be empty")
		case strings.ContainsAny(k, "=\x00"):
			p.add(path, "variable names must not contain '=' or NUL")
		}
		if strings.ContainsRune(r.Env[k], 0) {
			p.add(path, "value must not contain NUL")
		}
	}
	if r.User != "" && strings.IndexFunc(r.User, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '/' || c == ':' }) >= 0 {
		p.add("/run/user", "must not contain whitespace, control characters, '/' or ':'")
	}
	for i, a := range r.Artifacts {
		if msg := uriError(a.URI); msg != "" {
			p.add(idx("/run/artifacts", i)+"/uri", msg)
		}
	}
	if d := r.Docker; d != nil {
		if strings.TrimSpace(d.Image) == "" {
			p.add("/run/docker/image", "must not be empty")
		} else if strings.IndexFunc(d.Image, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
			p.add("/run/docker/image", "must not contain whitespace or control characters")
		}
		for i, prm := range d.Parameters {
			if prm.Key == "" {
				p.add(idx("/run/docker/parameters", i)+"/key", "must not be empty")
			}
		}
	}
	if pl := r.Placement; pl != nil {
		for i, c := range pl.Constraints {
			if msg := constraintError(c); msg != "" {
				p.add(idx("/run/placement/constraints", i), msg)
			}
		}
	}
	seconds(p, "/run/maxLaunchDelay", r.MaxLaunchDelay, 1)
	seconds(p, "/run/taskKillGracePeriodSeconds", r.TaskKillGracePeriodSeconds, 0)
	switch r.Restart.Policy {
	case RestartNever, RestartOnFailure:
	default:
		p.addf("/run/restart/policy", "got %q, expected one of (%s, %s)", r.Restart.Policy, RestartNever, RestartOnFailure)
	}
	seconds(p, "/run/restart/activeDeadlineSeconds", r.Restart.ActiveDeadlineSeconds, 0)
	count(p, "/run/parallelism", r.Parallelism)
	count(p, "/run/completions", r.Completions)
	if r.Parallelism > r.Completions && r.Completions >= 1 {
		p.addf("/run/parallelism", "got %d, expected at most completions (%d): a run never needs more tasks at once than successes", r.Parallelism, r.Completions)
	}
}

// ValidateSchedule checks every field of a decoded schedule and returns an *InvalidError
// listing every problem, or nil.
func ValidateSchedule(s *Schedule) error {
	p := &problems{}
	validateSchedule(s, p)
	return p.err()
}

func validateSchedule(s *Schedule, p *problems) {
	if msg := idError(s.ID); msg != "" {
		p.add("/id", msg)
	}
	if _, err := ParseCron(s.Cron); err != nil {
		p.add("/cron", strings.TrimPrefix(err.Error(), "job: "))
	}
	if _, err := LoadTimezone(s.Timezone); err != nil {
		p.add("/timezone", strings.TrimPrefix(err.Error(), "job: "))
	}
	seconds(p, "/startingDeadlineSeconds", s.StartingDeadlineSeconds, 1)
	switch s.ConcurrencyPolicy {
	case ConcurrencyAllow, ConcurrencyForbid:
	default:
		p.addf("/concurrencyPolicy", "got %q, expected one of (%s, %s)", s.ConcurrencyPolicy, ConcurrencyAllow, ConcurrencyForbid)
	}
}

// cronParser reads standard 5-field cron (minute hour day-of-month month day-of-week), as
// Metronome does: no seconds field and no @descriptors.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// cronProbe is where ParseCron looks for a first fire time: an expression with none in the five
// years after it (robfig/cron's horizon, which spans a leap year) never fires.
var cronProbe = time.Date(2000, time.January, 1, 0, 0, 0, 0, time.UTC)

// ParseCron parses a 5-field cron expression. Descriptors (@daily, @every 1h), a seconds field
// and TZ=/CRON_TZ= prefixes are rejected: the time zone is the schedule's own field. An
// expression that matches no date (0 0 30 2 *) is rejected too.
func ParseCron(expr string) (cron.Schedule, error) {
	e := strings.TrimSpace(expr)
	switch {
	case e == "":
		return nil, fmt.Errorf("job: must not be empty")
	case strings.HasPrefix(e, "@"):
		return nil, fmt.Errorf("job: %q: descriptors are not supported, give 5 fields (minute hour day-of-month month day-of-week)", expr)
	case strings.HasPrefix(e, "TZ=") || strings.HasPrefix(e, "CRON_TZ="):
		return nil, fmt.Errorf("job: %q: give the time zone in the timezone field", expr)
	}
	if n := len(strings.Fields(e)); n != 5 {
		return nil, fmt.Errorf("job: %q: got %d fields, expected 5 (minute hour day-of-month month day-of-week)", expr, n)
	}
	sched, err := cronParser.Parse(e)
	if err != nil {
		return nil, fmt.Errorf("job: %q: %w", expr, err)
	}
	if sched.Next(cronProbe).IsZero() {
		return nil, fmt.Errorf("job: %q: matches no date", expr)
	}
	return sched, nil
}

// LoadTimezone loads an IANA time zone ("Europe/Berlin", "UTC"). "Local" and "" are rejected:
// they would mean different things on different machines.
func LoadTimezone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, fmt.Errorf("job: must not be empty")
	case "Local":
		return nil, fmt.Errorf("job: %q is not an IANA time zone name", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("job: %q is not a known IANA time zone", name)
	}
	return loc, nil
}

// Parse converts the constraint to Marathon's form for frameworks/marathon/constraints
// matching. EQ is Metronome's name for Marathon's CLUSTER (the attribute equals the value).
func (c Constraint) Parse() (constraints.Constraint, error) {
	op := c.Operator
	if op == "EQ" {
		op = string(constraints.Cluster)
	}
	raw := []string{c.Attribute, op}
	if c.Value != "" {
		raw = append(raw, c.Value)
	}
	return constraints.Parse(raw)
}

// Operators lists the accepted constraint operators.
var Operators = []string{"EQ", "LIKE", "UNLIKE", "IS", "CLUSTER", "GROUP_BY", "UNIQUE", "MAX_PER"}

func constraintError(c Constraint) string {
	if c.Attribute == "" {
		return "attribute must not be empty"
	}
	known := false
	for _, op := range Operators {
		known = known || c.Operator == op
	}
	if !known {
		return fmt.Sprintf("operator %q is not one of (%s)", c.Operator, strings.Join(Operators, ", "))
	}
	if _, err := c.Parse(); err != nil {
		return err.Error()
	}
	return ""
}

// uriError checks an artifact URI: an absolute URL with a scheme, or an absolute path on the agent.
func uriError(uri string) string {
	if uri == "" {
		return "must not be empty"
	}
	if strings.IndexFunc(uri, func(c rune) bool { return c <= ' ' || c == 0x7f }) >= 0 {
		return "must not contain whitespace or control characters"
	}
	u, err := url.Parse(uri)
	if err != nil {
		return fmt.Sprintf("is not a URI: %v", err)
	}
	switch {
	case u.Scheme == "" && strings.HasPrefix(uri, "/"):
		return ""
	case u.Scheme == "":
		return "must be an absolute URI (http://..., https://..., file:///...) or an absolute path"
	case u.Opaque != "" || (u.Host == "" && u.Path == ""):
		return "must name a host or a path after the scheme"
	}
	return ""
}

func positive(p *problems, path string, v float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		p.addf(path, "got %s, expected more than 0.0", float(v))
	}
}

func seconds(p *problems, path string, v, min int) {
	if v < min || v > MaxSeconds {
		p.addf(path, "got %d, expected between %d and %d", v, min, MaxSeconds)
	}
}

func count(p *problems, path string, v int) {
	if v < 1 || v > MaxCompletions {
		p.addf(path, "got %d, expected between 1 and %d", v, MaxCompletions)
	}
}

// float prints as Metronome's (Scala's) messages do: 1.0, 0.5.
func float(f float64) string {
	s := fmt.Sprint(f)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}
