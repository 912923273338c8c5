package loop

import (
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/marathon/events"
	"github.com/agoracluster/agora/frameworks/marathon/persist"
	"github.com/agoracluster/agora/store"
)

// Config is what the loop decides with.
type Config struct {
	// Master is the master named in scheduler_registered_event.
	Master string
	// WaitingRefuse is the refuse filter for offers declined while launches wait;
	// IdleRefuse when nothing waits.
	WaitingRefuse, IdleRefuse time.Duration
	// TickInterval is how often the loop re-checks back-offs, unreachable tasks and
	// deployments without an event.
	TickInterval time.Duration
	// ServicePortMin and ServicePortMax bound the service ports assigned to apps.
	ServicePortMin, ServicePortMax int
	// TaskLaunchTimeout is how long a launched task may take to reach TASK_RUNNING before
	// it is killed (and replaced); 0 waits forever (Marathon's --task_launch_timeout).
	TaskLaunchTimeout time.Duration
	// ReconciliationInterval is how often every task is reconciled with the master
	// (an implicit reconciliation) besides the one at each subscription; 0 never
	// (Marathon's --reconciliation_interval).
	ReconciliationInterval time.Duration
}

// Validate returns every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	if c.Master == "" {
		errs = append(errs, errors.New("master: must be set"))
	}
	if c.TickInterval <= 0 {
		errs = append(errs, errors.New("tick_interval: must be positive"))
	}
	if c.WaitingRefuse < 0 || c.IdleRefuse < 0 {
		errs = append(errs, errors.New("refuse durations: must not be negative"))
	}
	if c.TaskLaunchTimeout < 0 || c.ReconciliationInterval < 0 {
		errs = append(errs, errors.New("task_launch_timeout and reconciliation_interval: must not be negative"))
	}
	if c.ServicePortMin <= 0 || c.ServicePortMax < c.ServicePortMin || c.ServicePortMax > 65535 {
		errs = append(errs, errors.New("service ports: need 0 < min <= max <= 65535"))
	}
	return errors.Join(errs...)
}

// Deps are what the loop works with; every field must be set.
type Deps struct {
	Store  store.Store    // the state store, for task records
	Writes *persist.Store // writes records in the loop, keeps stored versions
	Bus    *events.Bus
	Log    *zap.Logger
	Now    func() time.Time // the clock every decision reads
	NewID  func() string    // task id suffixes and deployment ids
}

func (d Deps) validate() error {
	var errs []error
	if d.Store == nil || d.Writes == nil {
		errs = append(errs, errors.New("store: must be set"))
	}
	if d.Bus == nil || d.Log == nil {
		errs = append(errs, errors.New("bus and log: must be set"))
	}
	if d.Now == nil || d.NewID == nil {
		errs = append(errs, errors.New("clock and id source: must be set"))
	}
	return errors.Join(errs...)
}
