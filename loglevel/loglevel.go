package loglevel

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/agoracluster/agora/duration"
)

// Toggle sets a logger's level for a while and then restores the level it started at.
type Toggle struct {
	level zap.AtomicLevel
	base  zapcore.Level // --logging_level: what level 0 means, and what a toggle returns to

	mu     sync.Mutex
	revert *time.Timer // the pending return to base; nil when none
}

// New returns a Toggle of level, whose current level is the one to return to.
func New(level zap.AtomicLevel) *Toggle {
	return &Toggle{level: level, base: level.Level()}
}

// Level is the verbosity now: 1 while debug lines are logged, else 0.
func (t *Toggle) Level() uint32 {
	if t.level.Enabled(zapcore.DebugLevel) {
		return 1
	}
	return 0
}

// Set logs at verbosity v (0: --logging_level, 1 or more: debug) for d, then returns to
// --logging_level. A later Set replaces an earlier one's duration.
func (t *Toggle) Set(v uint32, d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("loglevel: duration must be positive, got %s", d)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revert != nil {
		t.revert.Stop()
	}
	if v == 0 {
		t.level.SetLevel(t.base)
	} else {
		t.level.SetLevel(min(t.base, zapcore.DebugLevel))
	}
	t.revert = time.AfterFunc(d, t.restore)
	return nil
}

func (t *Toggle) restore() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.level.SetLevel(t.base)
	t.revert = nil
}

// Stop cancels a pending return to --logging_level (the level stays as it is); the owner
// calls it when the process stops.
func (t *Toggle) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.revert != nil {
		t.revert.Stop()
		t.revert = nil
	}
}

// ErrNoChange is ParseQuery's answer to a query that names neither level nor duration: a
// request that only reads the level.
var ErrNoChange = errors.New("loglevel: no level and duration given")

// ParseQuery reads /logging/toggle's query, ?level=N&duration=D (D in Go's or Mesos's form:
// 30secs, 5mins), as Mesos checks it: both or neither (ErrNoChange) must be given, the level
// a non-negative integer, the duration positive.
func ParseQuery(q url.Values) (level uint32, d time.Duration, err error) {
	l, hasLevel := q["level"]
	ds, hasDuration := q["duration"]
	switch {
	case !hasLevel && !hasDuration:
		return 0, 0, ErrNoChange
	case !hasDuration:
		return 0, 0, errors.New("Expecting 'duration=value' in query")
	case !hasLevel:
		return 0, 0, errors.New("Expecting 'level=value' in query")
	}
	v, err := strconv.ParseUint(l[0], 10, 32)
	if err != nil {
		return 0, 0, fmt.Errorf("Invalid level '%s': want a non-negative integer", l[0])
	}
	d, err = duration.Parse(ds[0])
	if err != nil {
		return 0, 0, fmt.Errorf("Invalid duration '%s': %v", ds[0], err)
	}
	if d <= 0 {
		return 0, 0, fmt.Errorf("Invalid duration '%s': must be positive", ds[0])
	}
	return uint32(v), d, nil
}
