package retry

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

func TestDelay(t *testing.T) {
	tests := []struct {
		name     string
		p        Policy
		failures int
		want     time.Duration
	}{
		{"first retry", Default(), 1, time.Second},
		{"second retry", Default(), 2, 2 * time.Second},
		{"third retry", Default(), 3, 4 * time.Second},
		{"sixth retry", Default(), 6, 32 * time.Second},
		{"seventh retry reaches the cap", Default(), 7, time.Minute},
		{"far beyond the cap", Default(), 1000, time.Minute},
		{"beyond float range", Default(), math.MaxInt, time.Minute},
		{"zero failures count as the first", Default(), 0, time.Second},
		{"negative failures count as the first", Default(), -3, time.Second},
		{"factor 1 is constant", Policy{Initial: 5 * time.Second, Factor: 1, Max: time.Minute}, 10, 5 * time.Second},
		{"fractional factor", Policy{Initial: time.Second, Factor: 1.5, Max: time.Minute}, 3, 2250 * time.Millisecond},
		{"cap equal to initial", Policy{Initial: time.Second, Factor: 2, Max: time.Second}, 4, time.Second},
		{"huge cap", Policy{Initial: time.Second, Factor: 2, Max: math.MaxInt64}, 200, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.failures); got != tt.want {
				t.Fatalf("Delay(%d) = %s, want %s", tt.failures, got, tt.want)
			}
		})
	}
}

func TestDelayNeverDecreases(t *testing.T) {
	for _, p := range []Policy{Default(), {Initial: 3 * time.Millisecond, Factor: 1.15, Max: time.Hour}, {Initial: time.Second, Factor: 10, Max: 24 * time.Hour}} {
		prev := time.Duration(0)
		for k := 1; k < 500; k++ {
			d := p.Delay(k)
			if d < prev || d > p.Max || d < p.Initial {
				t.Fatalf("%+v: Delay(%d) = %s after %s", p, k, d, prev)
			}
			prev = d
		}
	}
}

func TestForJob(t *testing.T) {
	tests := []struct {
		name           string
		maxLaunchDelay int
		want           time.Duration
	}{
		{"default maxLaunchDelay keeps the minute", job.DefaultMaxLaunchDelay, time.Minute},
		{"shorter maxLaunchDelay lowers the cap", 10, 10 * time.Second},
		{"never below the initial delay", 0, time.Minute},
		{"one second", 1, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Default().ForJob(job.RunSpec{MaxLaunchDelay: tt.maxLaunchDelay})
			if p.Max != tt.want {
				t.Fatalf("Max = %s, want %s", p.Max, tt.want)
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
	p := Policy{Initial: 5 * time.Second, Factor: 2, Max: time.Minute}.ForJob(job.RunSpec{MaxLaunchDelay: 2})
	if p.Max != 5*time.Second {
		t.Fatalf("Max below Initial: %s", p.Max)
	}
}

func TestExhausted(t *testing.T) {
	tests := []struct {
		limit, failures int
		want            bool
	}{
		{0, 1_000_000, false}, {3, 0, false}, {3, 3, false}, {3, 4, true}, {1, 2, true},
	}
	for _, tt := range tests {
		if got := (Policy{Limit: tt.limit}).Exhausted(tt.failures); got != tt.want {
			t.Errorf("limit %d, failures %d: got %v", tt.limit, tt.failures, got)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	err := Policy{Initial: 0, Factor: 0.5, Max: -1, Limit: -1}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"initial delay", "factor", "max delay", "limit"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from %v", want, err)
		}
	}
	if err := (Policy{Initial: time.Second, Factor: math.Inf(1), Max: time.Minute}).Validate(); err == nil {
		t.Error("infinite factor accepted")
	}
}
