package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestCORSFlagRejectsBadOrigins: every server's --access_control_allow_origin is checked
// before it starts, with an error naming the command, the flag and the origin.
func TestCORSFlagRejectsBadOrigins(t *testing.T) {
	type run func(context.Context, []string, io.Writer, io.Writer) error
	for _, tc := range []struct {
		name string
		run  run
		want string
	}{
		{"master", runMaster, `master: --access_control_allow_origin: origin "dash.example.com": want http:// or https://`},
		{"agent", runAgent, `agent: --access_control_allow_origin: origin "dash.example.com": want http:// or https://`},
		{"marathon", runMarathon, `marathon: --access_control_allow_origin: origin "dash.example.com": want http:// or https://`},
		{"batch", runBatch, `batch: --access_control_allow_origin: origin "dash.example.com": want http:// or https://`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--work_dir", t.TempDir(), "--access_control_allow_origin", "http://ok.example.com,dash.example.com"}
			err := tc.run(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%s %v = %v, want an error containing %q", tc.name, args, err, tc.want)
			}
		})
	}
}
