package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDNSRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"resolver without port", []string{"--resolvers", "8.8.8.8"}, `resolvers[0]: "8.8.8.8": want host:port`},
		{"empty domain", []string{"--domain", ""}, "domain: must not be empty"},
		{"zero refresh", []string{"--refresh", "0s"}, "refresh: must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"dns", "--ip", "127.0.0.1", "--port", "0", "--http_port", "-1"}, tt.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("agora %v = %v, want an error saying %q", args, err, tt.want)
			}
		})
	}
}
