package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/agent/stateapi"
)

func TestConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.Master = "localhost:5050"
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"valid", func(*Config) {}, ""},
		{"url master", func(c *Config) { c.Master = "http://m:5050" }, ""},
		{"no master", func(c *Config) { c.Master = "" }, "master must be set"},
		{"bad master", func(c *Config) { c.Master = "ftp://m" }, "want host:port"},
		{"unknown containerizer", func(c *Config) { c.Containerizers = []string{"mesos"} }, "unsupported"},
		{"zero timeout", func(c *Config) { c.ExecutorRegistrationTimeout = 0 }, "executor_registration_timeout"},
		{"backoff", func(c *Config) { c.RegistrationBackoffMax = time.Millisecond }, "back-off"},
		{"every problem", func(c *Config) { c.Master = ""; c.WorkDir = "" }, "work_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid
			tt.mutate(&c)
			err := c.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestMasterURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"m:5050", "http://m:5050/api/v1/agent"},
		{"http://m:5050", "http://m:5050/api/v1/agent"},
		{"http://m:5050/", "http://m:5050/api/v1/agent"},
		{"https://m", "https://m/api/v1/agent"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := masterURL(tt.in)
			if err != nil || u.String() != tt.want {
				t.Fatalf("masterURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
			}
		})
	}
}

func TestAgentResources(t *testing.T) {
	rs, err := agentResources("cpus:3;mem:100", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := stateapi.ResourceMap(rs)
	if m["cpus"] != 3.0 || m["mem"] != 100.0 || m["ports"] != "[31000-32000]" || m["disk"] == nil {
		t.Fatalf("resources = %v", m)
	}
	if _, err := agentResources("cpus:x", t.TempDir()); err == nil {
		t.Fatal("want an error for bad resources")
	}
}
