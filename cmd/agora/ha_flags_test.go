package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestHAFlagErrors: bad HA flags are refused before anything starts, with an
// error naming the flag.
func TestHAFlagErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		run  func(context.Context, []string, io.Writer, io.Writer) error
		args []string
		want string
	}{
		{"quorum below 1", runMaster, []string{"--quorum", "0"}, "--quorum 0"},
		{"zk URL without path", runMaster, []string{"--zk", "zk://127.0.0.1:1"}, "--zk"},
		{"zk URL of another scheme", runMaster, []string{"--zk", "http://127.0.0.1:1/agora"}, "--zk"},
		{"session timeout without zk", runMaster, []string{"--zk_session_timeout", "4secs"}, "--zk_session_timeout needs --zk"},
		{"session timeout too short", runMaster, []string{"--zk", "zk://127.0.0.1:1/agora", "--zk_session_timeout", "1ms"}, "session timeout"},
		{"agent zk URL without path", runAgent, []string{"--master", "zk://127.0.0.1:1"}, "--master"},
		{"agent session timeout without zk", runAgent, []string{"--master", "127.0.0.1:5050", "--zk_session_timeout", "4secs"}, "--zk_session_timeout needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--work_dir", dir}, tt.args...)
			err := tt.run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
