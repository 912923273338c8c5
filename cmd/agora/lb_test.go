package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestLBRejectsBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown balance", []string{"--balance", "random"}, `balance: "random": want roundrobin or leastconn`},
		{"empty marathon", []string{"--marathon", " , "}, "marathon: must not be empty"},
		{"marathon not http", []string{"--marathon", "zk://127.0.0.1:2181/marathon"}, `marathon[0]:`},
		{"two groups", []string{"--group", "a,b"}, `group: "a,b": want one group name`},
		{"bad ip", []string{"--ip", "localhost"}, `ip: "localhost" is not an IP address`},
		{"zero connect timeout", []string{"--connect_timeout", "0s"}, "connect_timeout: must be positive"},
		{"admin port out of range", []string{"--admin_port", "70000"}, "--admin_port: 70000 is not a port"},
		{"bad duration", []string{"--debounce", "soon"}, `invalid argument "soon"`},
		{"reload command without haproxy", []string{"--haproxy_reload_cmd", "true"}, "--haproxy_reload_cmd needs --haproxy"},
		{"haproxy with a free http port", []string{"--haproxy", "/tmp/x.cfg", "--http_port", "0"}, "--http_port: 0 (a free port) cannot be written"},
		{"haproxy in a missing directory", []string{"--haproxy", "/nonexistent/dir/haproxy.cfg"}, "the directory /nonexistent/dir does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"lb", "--ip", "127.0.0.1", "--http_port", "-1", "--admin_port", "-1"}, tt.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("agora %v = %v, want an error saying %q", args, err, tt.want)
			}
		})
	}
}

func TestLBFlagsFromEnvironment(t *testing.T) {
	t.Setenv("AGORA_BALANCE", "fastest")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"lb", "--ip", "127.0.0.1", "--http_port", "-1", "--admin_port", "-1"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), `balance: "fastest"`) {
		t.Errorf("AGORA_BALANCE=fastest: %v, want the balance error", err)
	}
}
