package ledger

import (
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/master/allocator"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // in the error; empty: valid
	}{
		{"default", func(*Config) {}, ""},
		{"no ping timeout", func(c *Config) { c.AgentPingTimeout = 0 }, "agent_ping_timeout"},
		{"no ping timeouts", func(c *Config) { c.MaxAgentPingTimeouts = 0 }, "max_agent_ping_timeouts"},
		{"negative offer timeout", func(c *Config) { c.OfferTimeout = -time.Second }, "offer_timeout"},
		{"negative completed limit", func(c *Config) { c.MaxCompletedFrameworks = -1 }, "limits"},
		{"zero weight", func(c *Config) { c.Allocator.Weights = map[string]float64{"eng": 0} }, `weight must be a finite number > 0: role "eng"`},
		{"bad min allocatable", func(c *Config) { c.Allocator.MinAllocatable = []allocator.Quantities{{}} }, "MinAllocatable[0]"},
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

func TestAgentHeartbeatNeverExceedsPingTimeout(t *testing.T) {
	c := DefaultConfig()
	c.AgentHeartbeatInterval, c.AgentPingTimeout = time.Minute, 10*time.Second
	if got := c.AgentHeartbeat(); got != 10*time.Second {
		t.Errorf("AgentHeartbeat() = %s, want the ping timeout 10s", got)
	}
}
