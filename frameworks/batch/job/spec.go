package job

import (
	"errors"
	"fmt"
	"strings"
)

// Spec is a Metronome job: what to run, with Agora's Chronos-style dependencies.
type Spec struct {
	ID           string            `json:"id"` // dotted lowercase segments: [a-z0-9]([a-z0-9-]*[a-z0-9])? joined by '.'
	Description  string            `json:"description,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Run          RunSpec           `json:"run"`
	Dependencies []string          `json:"dependencies,omitempty"` // parent job ids (Agora's, Chronos-style)
}

// RunSpec is what one run of a job starts.
type RunSpec struct {
	Cmd                        string            `json:"cmd,omitempty"`
	Args                       []string          `json:"args,omitempty"`
	CPUs                       float64           `json:"cpus"` // default 1 when absent
	Mem                        float64           `json:"mem"`  // MiB, default 128
	Disk                       float64           `json:"disk"` // MiB, default 0
	GPUs                       int               `json:"gpus,omitempty"`
	Env                        map[string]string `json:"env,omitempty"`
	User                       string            `json:"user,omitempty"`
	Artifacts                  []Artifact        `json:"artifacts,omitempty"`
	Docker                     *Docker           `json:"docker,omitempty"`
	Placement                  *Placement        `json:"placement,omitempty"`
	MaxLaunchDelay             int               `json:"maxLaunchDelay,omitempty"` // seconds, default 3600
	TaskKillGracePeriodSeconds int               `json:"taskKillGracePeriodSeconds,omitempty"`
	Restart                    Restart           `json:"restart"`
	Parallelism                int               `json:"parallelism,omitempty"` // tasks at once; default 1
	Completions                int               `json:"completions,omitempty"` // successes needed; default 1
}

// Artifact is a URI the Mesos fetcher downloads into the sandbox before the task starts.
type Artifact struct {
	URI        string `json:"uri"`
	Executable bool   `json:"executable,omitempty"`
	Extract    bool   `json:"extract,omitempty"`
	Cache      bool   `json:"cache,omitempty"`
}

// Docker runs the task in a Docker image.
type Docker struct {
	Image          string      `json:"image"`
	ForcePullImage bool        `json:"forcePullImage,omitempty"`
	Privileged     bool        `json:"privileged,omitempty"`
	Parameters     []Parameter `json:"parameters,omitempty"`
}

// Parameter is one `docker run` option: --key=value.
type Parameter struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Placement restricts the agents a job's tasks run on.
type Placement struct {
	Constraints []Constraint `json:"constraints,omitempty"`
}

// Constraint is Metronome's form: operator EQ, LIKE, UNLIKE (and Marathon's IS, CLUSTER,
// GROUP_BY, UNIQUE, MAX_PER are accepted as in frameworks/marathon/constraints where they fit).
type Constraint struct {
	Attribute string `json:"attribute"`
	Operator  string `json:"operator"`
	Value     string `json:"value,omitempty"`
}

// RestartPolicy says whether a failed task of a run is started again.
type RestartPolicy string

// The restart policies Metronome knows.
const (
	RestartNever     RestartPolicy = "NEVER"
	RestartOnFailure RestartPolicy = "ON_FAILURE"
)

// Restart is a run's restart policy and its deadline.
type Restart struct {
	Policy                RestartPolicy `json:"policy"`                          // default NEVER
	ActiveDeadlineSeconds int           `json:"activeDeadlineSeconds,omitempty"` // 0 = none
}

// ConcurrencyPolicy says whether a schedule starts a run while another run of the job is active.
type ConcurrencyPolicy string

// The concurrency policies Metronome knows.
const (
	ConcurrencyAllow  ConcurrencyPolicy = "ALLOW"
	ConcurrencyForbid ConcurrencyPolicy = "FORBID"
)

// Schedule starts runs of a job on a cron schedule.
type Schedule struct {
	ID                      string            `json:"id"`
	Cron                    string            `json:"cron"`
	Timezone                string            `json:"timezone"`                // IANA name, default "UTC"
	StartingDeadlineSeconds int               `json:"startingDeadlineSeconds"` // default 900 (Metronome)
	ConcurrencyPolicy       ConcurrencyPolicy `json:"concurrencyPolicy"`       // default ALLOW
	Enabled                 bool              `json:"enabled"`                 // default true when absent
}

// Detail is one invalid field, Metronome's 422 shape: {"path":"/run/cpus","errors":["..."]}.
type Detail struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
}

// InvalidError is returned by the decoders for a spec that parses but is invalid, and for
// unknown fields; it renders as Metronome's 422 body {"message":"Object is not valid","details":[...]}.
type InvalidError struct{ Details []Detail }

// Error lists every invalid field: "job: invalid: /run/cpus: must be greater than 0; ...".
func (e *InvalidError) Error() string {
	var b strings.Builder
	b.WriteString("job: invalid")
	for i, d := range e.Details {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", d.Path, strings.Join(d.Errors, ", "))
	}
	return b.String()
}

// MarshalJSON renders Metronome's 422 body.
func (e *InvalidError) MarshalJSON() ([]byte, error) {
	return marshalInvalid(e.Details)
}

// ErrMalformed (wrapped) is returned for bodies that are not JSON at all (the API answers 400).
var ErrMalformed = errors.New("job: malformed JSON")
