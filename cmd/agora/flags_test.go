package main

import (
	"strings"
	"testing"
	"time"
)

func TestParseFlagsEnvironment(t *testing.T) {
	env := map[string]string{"AGORA_WORK_DIR": "/from/env", "AGORA_PORT": "6060", "AGORA_TIMEOUT": "2mins"}
	fs := newFlagSet("test")
	workDir := fs.String("work_dir", "/default", "")
	port := fs.Int("port", 5050, "")
	var timeout time.Duration
	durationVar(fs, &timeout, "timeout", time.Second, "")
	if err := parseFlags(fs, []string{"--port", "7070"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if *workDir != "/from/env" {
		t.Errorf("work_dir = %q, want the environment's /from/env", *workDir)
	}
	if *port != 7070 {
		t.Errorf("port = %d, want the command line's 7070 over the environment's", *port)
	}
	if timeout != 2*time.Minute {
		t.Errorf("timeout = %v, want 2m", timeout)
	}
}

func TestParseFlagsBadEnvironmentNamesVariable(t *testing.T) {
	fs := newFlagSet("test")
	fs.Int("port", 5050, "")
	err := parseFlags(fs, nil, func(k string) string {
		if k == "AGORA_PORT" {
			return "not-a-port"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "AGORA_PORT") {
		t.Fatalf("err = %v, want an error naming AGORA_PORT", err)
	}
}

func TestRedactURLs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"zk://h1:2181,h2:2181/agora", "zk://h1:2181,h2:2181/agora"},
		{"zk://jo:secret@h1:2181,h2:2181/agora", "zk://jo:xxxxx@h1:2181,h2:2181/agora"},
		{"5050", "5050"},
	}
	for _, tt := range tests {
		if got := redactURLs(tt.in); got != tt.want {
			t.Errorf("redactURLs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
