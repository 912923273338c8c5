package sdk

import (
	"slices"
	"strings"
	"testing"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"google.golang.org/protobuf/proto"
	"pgregory.net/rapid"
)

func validConfig() Config {
	c := DefaultConfig()
	c.Masters = []string{"127.0.0.1:5050"}
	c.Framework = &mesos.FrameworkInfo{User: proto.String("u"), Name: proto.String("n")}
	return c
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{name: "valid", modify: func(*Config) {}},
		{name: "url master", modify: func(c *Config) { c.Masters = []string{"https://m:5050"} }},
		{name: "no masters", modify: func(c *Config) { c.Masters = nil }, want: "masters"},
		{name: "bad scheme", modify: func(c *Config) { c.Masters = []string{"ftp://m"} }, want: "masters[0]"},
		{name: "no framework", modify: func(c *Config) { c.Framework = nil }, want: "framework"},
		{name: "no name", modify: func(c *Config) { c.Framework.Name = nil }, want: "framework/name"},
		{name: "no user", modify: func(c *Config) { c.Framework.User = nil }, want: "framework/user"},
		{name: "encoding", modify: func(c *Config) { c.Encoding = "text/plain" }, want: "encoding"},
		{name: "heartbeats", modify: func(c *Config) { c.MissedHeartbeats = 0 }, want: "missed_heartbeats"},
		{name: "backoff", modify: func(c *Config) { c.BackoffMax = c.BackoffMin / 2 }, want: "backoff"},
		{name: "reconcile default", modify: func(c *Config) { c.ReconcileInterval, c.ReconcileIntervalMax = 0, 0 }},
		{name: "reconcile negative", modify: func(c *Config) { c.ReconcileInterval = -time.Second }, want: "reconcile_interval"},
		{name: "reconcile max negative", modify: func(c *Config) { c.ReconcileIntervalMax = -time.Second }, want: "reconcile_interval"},
		{name: "reconcile max below", modify: func(c *Config) { c.ReconcileIntervalMax = c.ReconcileInterval / 2 }, want: "reconcile_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.modify(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := validConfig()
		c.BackoffMin = time.Duration(rapid.Int64Range(1, int64(time.Second)).Draw(t, "min"))
		c.BackoffMax = c.BackoffMin * time.Duration(rapid.Int64Range(1, 100).Draw(t, "factor"))
		s, err := NewScheduler(c, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		failures := rapid.IntRange(0, 200).Draw(t, "failures")
		d := s.backoff(failures)
		if d < c.BackoffMin/2 || d > c.BackoffMax {
			t.Fatalf("backoff(%d) = %s outside [%s, %s]", failures, d, c.BackoffMin/2, c.BackoffMax)
		}
	})
}

func TestResolveRedirect(t *testing.T) {
	from, _ := masterURL("10.0.0.1:5050")
	tests := []struct{ loc, want string }{
		{"//10.0.0.2:5050/api/v1/scheduler", "http://10.0.0.2:5050/api/v1/scheduler"},
		{"http://leader:5050/master/api/v1/scheduler", "http://leader:5050/api/v1/scheduler"},
		{"//leader:5050", "http://leader:5050/api/v1/scheduler"},
	}
	for _, tt := range tests {
		got, err := resolveRedirect(from, tt.loc)
		if err != nil || got.String() != tt.want {
			t.Errorf("resolveRedirect(%q) = %v, %v; want %s", tt.loc, got, err, tt.want)
		}
	}
}

func TestSplitMasters(t *testing.T) {
	tests := []struct {
		flag string
		want []string
	}{
		{"h1:5050", []string{"h1:5050"}},
		{"h1:5050,h2:5050", []string{"h1:5050", "h2:5050"}},
		{"zk://h1:2181,h2:2181/agora", []string{"zk://h1:2181,h2:2181/agora"}},
	}
	for _, tt := range tests {
		if got := SplitMasters(tt.flag); !slices.Equal(got, tt.want) {
			t.Errorf("SplitMasters(%q) = %q, want %q", tt.flag, got, tt.want)
		}
	}
}
