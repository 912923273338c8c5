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

func TestGCConfigValidate(t *testing.T) {
	valid := DefaultConfig()
	valid.Master = "localhost:5050"
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{"defaults: one week, 10% headroom", func(c *Config) {}, ""},
		{"zero delay", func(c *Config) { c.GCDelay = 0 }, "gc_delay"},
		{"negative headroom", func(c *Config) { c.GCDiskHeadroom = -0.1 }, "gc_disk_headroom"},
		{"headroom above 1", func(c *Config) { c.GCDiskHeadroom = 1.5 }, "gc_disk_headroom"},
		{"zero disk watch", func(c *Config) { c.DiskWatchInterval = 0 }, "disk_watch_interval"},
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
	if d := DefaultConfig(); d.GCDelay != 7*24*time.Hour || d.GCDiskHeadroom != 0.1 {
		t.Errorf("defaults gc_delay %v gc_disk_headroom %v, want 1 week and 0.1", d.GCDelay, d.GCDiskHeadroom)
	}
}
