package commandexec

import (
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnv(t *testing.T) {
	full := map[string]string{
		"MESOS_FRAMEWORK_ID":                   "fw",
		"MESOS_EXECUTOR_ID":                    "ex",
		"MESOS_AGENT_ENDPOINT":                 "127.0.0.1:5051",
		"MESOS_SANDBOX":                        "/sandbox",
		"MESOS_CHECKPOINT":                     "1",
		"MESOS_RECOVERY_TIMEOUT":               "15mins",
		"MESOS_SUBSCRIPTION_BACKOFF_MAX":       "2secs",
		"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "500ms",
	}
	with := func(changes map[string]string) func(string) string {
		return func(k string) string {
			if v, ok := changes[k]; ok {
				return v
			}
			return full[k]
		}
	}
	tests := []struct {
		name    string
		env     func(string) string
		wantErr []string
		check   func(c Config) bool
	}{
		{"complete", with(nil), nil, func(c Config) bool {
			return c.FrameworkID == "fw" && c.ExecutorID == "ex" && c.AgentEndpoint == "127.0.0.1:5051" && c.Sandbox == "/sandbox" &&
				c.Checkpoint && c.RecoveryTimeout == 15*time.Minute && c.SubscriptionBackoffMax == 2*time.Second &&
				c.ShutdownGracePeriod == 500*time.Millisecond && c.KillGracePeriod == 3*time.Second
		}},
		{"MESOS_DIRECTORY as sandbox", with(map[string]string{"MESOS_SANDBOX": "", "MESOS_DIRECTORY": "/dir"}), nil,
			func(c Config) bool { return c.Sandbox == "/dir" }},
		{"no checkpoint", with(map[string]string{"MESOS_CHECKPOINT": "0"}), nil, func(c Config) bool { return !c.Checkpoint }},
		{"switches users by default", with(nil), nil, func(c Config) bool { return c.SwitchUser && c.TLS == nil }},
		{"--switch_user=false", with(map[string]string{"AGORA_SWITCH_USER": "0"}), nil, func(c Config) bool { return !c.SwitchUser }},
		{"TLS files named", with(map[string]string{"LIBPROCESS_SSL_ENABLED": "true", "LIBPROCESS_SSL_CA_FILE": "/no/such/ca.crt"}),
			[]string{"LIBPROCESS_SSL_*", "/no/such/ca.crt"}, nil},
		{"every missing variable named", func(string) string { return "" },
			[]string{"MESOS_FRAMEWORK_ID", "MESOS_EXECUTOR_ID", "MESOS_AGENT_ENDPOINT", "MESOS_SANDBOX"}, nil},
		{"bad durations named", with(map[string]string{"MESOS_RECOVERY_TIMEOUT": "soon", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "-1s"}),
			[]string{"MESOS_RECOVERY_TIMEOUT", "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(tt.env)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !tt.check(c) {
					t.Errorf("config = %+v", c)
				}
				return
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v does not name %s", err, want)
				}
			}
		})
	}
}
