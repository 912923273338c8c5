package allocator

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
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
	return errors.Join(errs...)
}
