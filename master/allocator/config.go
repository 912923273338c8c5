package allocator

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/agoracluster/agora/resources"
)

// Quantities are amounts of scalar resources by name, in the resource's unit
// (cpus in cores, mem and disk in MB).
type Quantities map[string]float64

// String renders q as "cpus:0.01;mem:32" with names sorted.
func (q Quantities) String() string {
	names := make([]string, 0, len(q))
	for n := range q {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s:%g", n, q[n])
	}
	return strings.Join(parts, ";")
}

// Config configures an Allocator.
type Config struct {
	// MinAllocatable lists the smallest amounts worth offering (Mesos
	// --min_allocatable_resources). Resources are offered only when they hold at
	// least every quantity of at least one entry. Empty means any non-empty
	// resources may be offered. Default: cpus:0.01 or mem:32 (MB).
	MinAllocatable []Quantities
	// Weights are the initial role weights (Mesos --weights); a role without
	// one weighs 1. SetWeight changes them later.
	Weights map[string]float64
}

// DefaultConfig returns the Mesos defaults.
func DefaultConfig() Config {
	return Config{
		MinAllocatable: []Quantities{{"cpus": 0.01}, {"mem": 32}},
	}
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var errs []error
	for i, q := range c.MinAllocatable {
		if len(q) == 0 {
			errs = append(errs, fmt.Errorf("allocator: MinAllocatable[%d]: must not be empty", i))
		}
		for name, v := range q {
			if name == "" {
				errs = append(errs, fmt.Errorf("allocator: MinAllocatable[%d]: empty resource name", i))
			}
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				errs = append(errs, fmt.Errorf("allocator: MinAllocatable[%d].%s: must be a finite number >= 0, got %v", i, name, v))
			}
		}
	}
	for _, role := range slices.Sorted(maps.Keys(c.Weights)) {
		if err := validWeight(role, c.Weights[role]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validWeight checks a role name and its weight.
func validWeight(role string, w float64) error {
	if err := validRole(role); err != nil {
		return err
	}
	if math.IsNaN(w) || math.IsInf(w, 0) || w <= 0 {
		return fmt.Errorf("%w: role %q: %v", ErrInvalidWeight, role, w)
	}
	return nil
}

// validRole checks a role name by the Mesos rules (see resources.ValidateRole).
func validRole(role string) error {
	if err := resources.ValidateRole(role); err != nil {
		return fmt.Errorf("%w %q: %s", ErrInvalidRole, role, strings.TrimPrefix(err.Error(), "resources: "))
	}
	return nil
}

// ParseWeights reads the Mesos --weights form: a comma-separated list of
// role=weight ("eng=2.5,ops=1"). The empty string means no weights. Every
// weight must be > 0 and every role a valid role name.
func ParseWeights(text string) (map[string]float64, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	out := map[string]float64{}
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		role, v, ok := strings.Cut(part, "=")
		role = strings.TrimSpace(role)
		if !ok {
			return nil, fmt.Errorf("allocator: weights: %q: want role=weight", part)
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, fmt.Errorf("allocator: weights: %q: weight is not a number", part)
		}
		if err := validWeight(role, w); err != nil {
			return nil, fmt.Errorf("%w (weights entry %q)", err, part)
		}
		if _, dup := out[role]; dup {
			return nil, fmt.Errorf("allocator: weights: role %q given twice", role)
		}
		out[role] = w
	}
	return out, nil
}

// ParseMinAllocatable reads the Mesos --min_allocatable_resources form:
// alternatives separated by "|", each a ";"-separated list of name:amount
// ("cpus:0.01|mem:32"). The empty string means no minimum.
func ParseMinAllocatable(text string) ([]Quantities, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var out []Quantities
	for i, alt := range strings.Split(text, "|") {
		q := Quantities{}
		for _, part := range strings.Split(alt, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			name, v, ok := strings.Cut(part, ":")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return nil, fmt.Errorf("allocator: min allocatable alternative %d: %q: want name:amount", i+1, part)
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				return nil, fmt.Errorf("allocator: min allocatable alternative %d: %q: amount must be a number >= 0", i+1, part)
			}
			if _, dup := q[name]; dup {
				return nil, fmt.Errorf("allocator: min allocatable alternative %d: %s given twice", i+1, name)
			}
			q[name] = f
		}
		if len(q) == 0 {
			return nil, fmt.Errorf("allocator: min allocatable alternative %d: empty", i+1)
		}
		out = append(out, q)
	}
	return out, nil
}

// ValidWeight checks a role name and a weight for it as SetWeight does, so that
// a caller setting several weights can refuse them all before setting any.
func ValidWeight(role string, w float64) error { return validWeight(role, w) }
