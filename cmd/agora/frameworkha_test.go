package main

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestZKFlags(t *testing.T) {
	tests := []struct {
		args    []string
		session time.Duration
		timeout time.Duration
		wantErr string
	}{
		{nil, 10 * time.Second, 10 * time.Second, ""},
		{[]string{"--zk_session_timeout", "4000"}, 4 * time.Second, 10 * time.Second, ""}, // Marathon's milliseconds
		{[]string{"--zk_session_timeout", "4secs", "--zk_timeout", "500ms"}, 4 * time.Second, 500 * time.Millisecond, ""},
		{[]string{"--zk_session_timeout", "0"}, 0, 0, "must be positive"},
		{[]string{"--zk_timeout", "soon"}, 0, 0, "zk_timeout"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := newFlagSet("marathon")
			fs.SetOutput(io.Discard)
			z := addZKFlags(fs, "marathon")
			err := parseFlags(fs, tc.args, func(string) string { return "" })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || z.sessionTimeout != tc.session || z.timeout != tc.timeout {
				t.Fatalf("session %v timeout %v err %v; want %v %v", z.sessionTimeout, z.timeout, err, tc.session, tc.timeout)
			}
		})
	}
}

func TestZKFlagsOpenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tests := []struct{ url, want string }{
		{"http://127.0.0.1:2181/marathon", "--zk"},
		{"zk://127.0.0.1:2181", "--zk"},
		{"zk://" + closed + "/marathon", closed},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			z := &zkFlags{url: tc.url, sessionTimeout: time.Second, timeout: 300 * time.Millisecond}
			_, err := z.open(context.Background(), "127.0.0.1", 8080, zap.NewNop())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("open: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
