package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestRunMasterRejectsBadAllocatorFlags: --weights and
// --min_allocatable_resources are checked before the master starts, with an
// error naming the flag and what is wrong.
func TestRunMasterRejectsBadAllocatorFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--weights", "eng=0"}, `--weights: allocator: weight must be a finite number > 0: role "eng": 0`},
		{[]string{"--weights", "eng"}, `--weights: allocator: weights: "eng": want role=weight`},
		{[]string{"--weights", "a/../b=1"}, `--weights: allocator: invalid role "a/../b"`},
		{[]string{"--weights", "-x=2"}, `invalid role "-x"`},
		{[]string{"--min_allocatable_resources", "cpus"}, `--min_allocatable_resources: allocator: min allocatable alternative 1: "cpus": want name:amount`},
		{[]string{"--min_allocatable_resources", "cpus:-1|mem:32"}, "amount must be a number >= 0"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := append([]string{"--work_dir", t.TempDir(), "--ip", "127.0.0.1", "--port", "0"}, tt.args...)
			err := runMaster(context.Background(), args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("runMaster(%v) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
