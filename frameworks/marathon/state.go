package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
	"github.com/agoracluster/agora/frameworks/marathon/groups"
	"github.com/agoracluster/agora/frameworks/marathon/planner"
	"github.com/agoracluster/agora/store"
)

// Mesos task state names as Marathon reports them.
const (
	stateStaging     = "TASK_STAGING"
	stateStarting    = "TASK_STARTING"
	stateRunning     = "TASK_RUNNING"
	stateKilling     = "TASK_KILLING"
	stateUnreachable = "TASK_UNREACHABLE"
)

// task is one task the framework launched and has not seen end. Persisted under
// tasks/<task id>.
type task struct {
	ID               string    `json:"id"`
	AppID            string    `json:"appId"`
	ConfigVersion    string    `json:"configVersion"` // the planner's version
	AppVersion       string    `json:"version"`       // the app's version when launched
	AgentID          string    `json:"agentId"`
	Host             string    `json:"host"`
	Ports            []uint64  `json:"ports"`
	State            string    `json:"state"`
	StagedAt         time.Time `json:"stagedAt"`
	StartedAt        time.Time `json:"startedAt"`
	Killing          bool      `json:"killing,omitempty"`
	KillSentAt       time.Time `json:"killSentAt"`
	UnreachableSince time.Time `json:"unreachableSince"`
	// Health as reported by the executor's health check.
	Healthy             *bool     `json:"healthy,omitempty"`
	FirstSuccess        time.Time `json:"firstSuccess"`
	LastSuccess         time.Time `json:"lastSuccess"`
	LastFailure         time.Time `json:"lastFailure"`
	LastFailureCause    string    `json:"lastFailureCause,omitempty"`
	ConsecutiveFailures int       `json:"consecutiveFailures"`
	// IPAddresses are the container's addresses from the latest status that had any.
	IPAddresses []ipJSON `json:"ipAddresses,omitempty"`
	// Ready: a readiness check of the task passed (see readiness.go); readiness is the
	// latest result while a check runs.
	Ready         bool `json:"ready,omitempty"`
	readiness     *readinessResult
	readinessPlan string // the deployment readiness was taken in

	// The task as GET responses render it, for renderApp's app at its version; cleared
	// whenever the task changes (persistTask).
	rendered        []byte
	renderedApp     *app.App
	renderedVersion string
}

// deployment is a running deployment. Persisted under deployments/<id>.
type deployment struct {
	Plan      planner.Plan        `json:"plan"`
	Step      int                 `json:"step"`
	Original  map[string]*app.App `json:"originalApps"` // definitions before, for rollback
	StartedAt time.Time           `json:"startedAt"`
}

// taskFailure is an app's lastTaskFailure.
type taskFailure struct {
	AppID     string `json:"appId"`
	Host      string `json:"host"`
	Message   string `json:"message"`
	State     string `json:"state"`
	TaskID    string `json:"taskId"`
	Timestamp string `json:"timestamp"`
	Version   string `json:"version"`
	SlaveID   string `json:"slaveId"`
}

// offerStats feeds processedOffersSummary.
type offerStats struct {
	Processed    int
	Unused       int
	LastUnusedAt time.Time
	LastUsedAt   time.Time
	Last         reasonCounts // the last round of offers
	Attempt      reasonCounts // since the launch attempt started
	LastUnused   []unusedOffer
}

// reasonCounts counts offers processed and declined per reason.
type reasonCounts struct {
	Processed int
	Declined  map[string]int
}

func (r *reasonCounts) add(processed int, declined map[string]int) {
	r.Processed += processed
	if r.Declined == nil {
		r.Declined = map[string]int{}
	}
	for k, v := range declined {
		r.Declined[k] += v
	}
}

type unusedOffer struct {
	OfferID, AgentID, Hostname string
	Reasons                    []string
	At                         time.Time
}

// queueEntry is the launch queue of one app.
type queueEntry struct {
	Version string // config version
	Count   int
	Since   time.Time
	Stats   offerStats
}

// Store keys.
const (
	keyApps        = "apps"
	keyVersions    = "versions"
	keyDeployments = "deployments"
	keyTasks       = "tasks"
	keyFrameworkID = "framework_id"
	keyGroups      = "groups"
)

// escapeID turns an app id into one store key segment ("/g/a" → "g_a"; app ids never
// contain "_").
func escapeID(id string) string { return TaskIDPrefix(id) }

func appKey(id string) string              { return keyApps + "/" + escapeID(id) }
func versionKey(id, version string) string { return keyVersions + "/" + escapeID(id) + "/" + version }
func versionsPrefix(id string) string      { return keyVersions + "/" + escapeID(id) }
func deploymentKey(id string) string       { return keyDeployments + "/" + id }

// groupKey is the key of a group's metadata; the root group ("/") is "-".
func groupKey(id string) string {
	if e := escapeID(id); e != "" {
		return keyGroups + "/" + e
	}
	return keyGroups + "/-"
}

func taskKey(id string) string                  { return keyTasks + "/" + id }
func lastSegment(key string) string             { return key[strings.LastIndexByte(key, '/')+1:] }
func specOf(a *app.App) planner.AppSpec         { return planner.SpecFromApp(a) }
func versionTime(a *app.App) (time.Time, error) { return app.ParseTime(a.Version) }

// putJSON writes v under key.
func putJSON(ctx context.Context, st store.Store, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if _, err := st.Put(ctx, key, b, store.AnyVersion); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

func deleteKey(ctx context.Context, st store.Store, key string) error {
	if err := st.Delete(ctx, key, store.AnyVersion); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// loaded is the state read back from the store at start.
type loaded struct {
	apps        map[string]*app.App
	deployments map[string]*deployment
	tasks       map[string]*task
	metas       map[string]groups.Meta
}

func loadState(ctx context.Context, st store.Store) (*loaded, error) {
	l := &loaded{apps: map[string]*app.App{}, deployments: map[string]*deployment{}, tasks: map[string]*task{}, metas: map[string]groups.Meta{}}
	if err := loadAll(ctx, st, keyApps, func(a *app.App) { l.apps[a.ID] = a }); err != nil {
		return nil, err
	}
	if err := loadAll(ctx, st, keyDeployments, func(d *deployment) { l.deployments[d.Plan.ID] = d }); err != nil {
		return nil, err
	}
	if err := loadAll(ctx, st, keyTasks, func(t *task) { l.tasks[t.ID] = t }); err != nil {
		return nil, err
	}
	if err := loadAll(ctx, st, keyGroups, func(g *groups.Meta) { l.metas[g.ID] = *g }); err != nil {
		return nil, err
	}
	return l, nil
}

// loadAll decodes every JSON record stored under prefix and hands each to add.
func loadAll[T any](ctx context.Context, st store.Store, prefix string, add func(*T)) error {
	keys, err := st.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		b, _, err := st.Get(ctx, k)
		if err != nil {
			return err
		}
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("decode %s: %w", k, err)
		}
		add(v)
	}
	return nil
}

// storedVersions lists the stored versions of an app, oldest first.
func storedVersions(ctx context.Context, st store.Store, id string) ([]string, error) {
	keys, err := st.List(ctx, versionsPrefix(id))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, lastSegment(k))
	}
	sort.Strings(out)
	return out, nil
}

func loadVersion(ctx context.Context, st store.Store, id, version string) (*app.App, error) {
	b, _, err := st.Get(ctx, versionKey(id, version))
	if err != nil {
		return nil, err
	}
	var a app.App
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode version %s of %s: %w", version, id, err)
	}
	return &a, nil
}
