// Package duration parses and formats durations in both of the forms Agora accepts: Go's
// (`4s`, `500ms`, `1h30m`) and Mesos's (`4secs`, `500ms`, `2mins`, `1.5hrs`, `3days`).
package duration

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// units are Mesos's duration suffixes, longest first so that "mins" is tried before "ns"
// and "millisecs" before "secs".
var units = []struct {
	suffix string
	unit   time.Duration
}{
	{"microsecs", time.Microsecond}, {"millisecs", time.Millisecond}, {"nanosecs", time.Nanosecond},
	{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"mins", time.Minute},
	{"secs", time.Second}, {"hrs", time.Hour}, {"ms", time.Millisecond},
	{"us", time.Microsecond}, {"ns", time.Nanosecond},
}

// Parse accepts a non-negative Go duration or Mesos duration.
func Parse(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v < 0 || num == "" {
				break
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("invalid duration %q (want e.g. 4s, 500ms, 4secs, 2mins)", s)
}

// Format renders d in Mesos's form with the largest unit that divides it exactly
// (15m → "15mins", 1500ms → "1500ms"), as Mesos writes durations into the environment.
func Format(d time.Duration) string {
	if d == 0 {
		return "0secs"
	}
	for _, u := range []struct {
		suffix string
		unit   time.Duration
	}{
		{"weeks", 7 * 24 * time.Hour}, {"days", 24 * time.Hour}, {"hrs", time.Hour},
		{"mins", time.Minute}, {"secs", time.Second}, {"ms", time.Millisecond},
		{"us", time.Microsecond},
	} {
		if d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
