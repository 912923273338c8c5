package master

import (
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // in the error; empty: valid
	}{
		{"default", func(*Config) {}, ""},
		{"no work dir", func(c *Config) { c.WorkDir = "" }, "work_dir"},
		{"port out of range", func(c *Config) { c.Port = 70000 }, "port 70000"},
		{"no allocation batch", func(c *Config) { c.AllocationBatch = 0 }, "allocation_batch"},
		{"ledger setting", func(c *Config) { c.AgentPingTimeout = 0 }, "agent_ping_timeout"},
		{"negative offer timeout", func(c *Config) { c.OfferTimeout = -1 }, "offer_timeout"},
		{"no body size", func(c *Config) { c.MaxBodySize = 0 }, "max body size"},
		{"bad weight role", func(c *Config) { c.Weights = map[string]float64{"a b": 1} }, `invalid role "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.WorkDir = t.TempDir()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.want)
			}
		})
	}
}
