package proc

import (
	"errors"
	"os"
	"slices"
	"testing"
)

func TestStatOfThisProcess(t *testing.T) {
	state, start, err := Stat(os.Getpid())
	if err != nil || !Live(state) || start == 0 {
		t.Fatalf("Stat(self) = %q, %d, %v", state, start, err)
	}
	if StartTime(os.Getpid()) != start {
		t.Fatal("StartTime differs from Stat's start time")
	}
	pids, err := List()
	if err != nil || !slices.Contains(pids, os.Getpid()) {
		t.Fatalf("List() = %d pids without this one, %v", len(pids), err)
	}
}

func TestStatOfNoProcess(t *testing.T) {
	// Beyond pid_max (at most 2^22 on Linux).
	if _, _, err := Stat(1 << 23); !errors.Is(err, ErrNoProcess) {
		t.Fatalf("Stat(no process) error = %v, want ErrNoProcess", err)
	}
	if StartTime(1<<23) != 0 {
		t.Fatal("StartTime of no process is not 0")
	}
}

func TestHasEnv(t *testing.T) {
	env := []byte("A=1\x00MESOS_EXECUTOR_ID=ex\x00B=\x00")
	tests := []struct {
		kv   string
		want bool
	}{
		{"MESOS_EXECUTOR_ID=ex", true},
		{"B=", true},
		{"MESOS_EXECUTOR_ID=e", false},
		{"A=12", false},
	}
	for _, tt := range tests {
		if got := HasEnv(env, tt.kv); got != tt.want {
			t.Errorf("HasEnv(%q) = %v, want %v", tt.kv, got, tt.want)
		}
	}
}
