package batch

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.WorkDir = "/var/lib/agora/batch"
	tests := []struct {
		name   string
		change func(*Config)
		want   []string // each must appear in the error; none: valid
	}{
		{"default with a work dir", func(*Config) {}, nil},
		{"no work dir", func(c *Config) { c.WorkDir = "" }, []string{"work_dir"}},
		{"everything wrong at once", func(c *Config) {
			c.Masters, c.HTTPPort, c.Hostname, c.Role, c.FrameworkName = nil, 70000, "", "", ""
			c.FailoverTimeout, c.TickInterval, c.FlushInterval, c.WaitingRefuse = -1, 0, 0, -1
			c.MaxTasksPerOffer, c.MaxBodyBytes, c.HistoryRuns = 0, 0, 0
			c.Retry.Initial = 0
		}, []string{"master", "http_port", "hostname", "role", "framework_name", "failover_timeout",
			"tick_interval", "flush_interval", "waiting_refuse", "max_tasks_per_offer", "max_body_bytes",
			"history_runs", "retry"}},
		{"empty master", func(c *Config) { c.Masters = []string{""} }, []string{"master[0]"}},
		{"retry max below initial", func(c *Config) { c.Retry.Max = time.Millisecond }, []string{"max delay"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			c.Retry = valid.Retry
			tt.change(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors about %v", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, lacks %q", err, w)
				}
			}
		})
	}
	if _, err := New(Config{}, nil); err == nil || !strings.Contains(err.Error(), "batch: invalid config") {
		t.Fatalf("New(zero config) = %v", err)
	}
}
