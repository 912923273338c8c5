package httpapi

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
		{"no framework heartbeat", func(c *Config) { c.FrameworkHeartbeatInterval = 0 }, "framework_heartbeat_interval"},
		{"no agent heartbeat", func(c *Config) { c.AgentHeartbeatInterval = -1 }, "agent_heartbeat_interval"},
		{"no body size", func(c *Config) { c.MaxBodySize = 0 }, "max body size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
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
