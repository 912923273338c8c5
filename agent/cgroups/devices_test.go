package cgroups

import (
	"strings"
	"testing"

	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/google/uuid"
	"golang.org/x/sys/unix"
)

// A container denied a device cannot open it; another container can. /dev/null stands in for
// a GPU's /dev/nvidiaN.
func TestDenyDevices(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Devices = true
	m := managerOf(t, cfg)
	if !m.DeviceControl() {
		hosttest.Require(t, "no device control on this host (cgroup v1 without a devices hierarchy)")
	}
	var st unix.Stat_t
	if err := unix.Stat("/dev/null", &st); err != nil {
		t.Fatal(err)
	}
	null := Device{Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev)))}

	tests := []struct {
		name    string
		deny    []Device
		wantErr bool
	}{
		{name: "denied", deny: []Device{null, {Major: 195, Minor: 254}}, wantErr: true},
		{name: "other device denied", deny: []Device{{Major: 195, Minor: 254}}},
		{name: "nothing denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cg, err := m.Create(uuid.NewString(), Limits{CPUs: 0.5, MemoryBytes: 64 << 20, DenyDevices: tt.deny})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = cg.KillAll(); _ = cg.Delete() })
			cmd := startIn(t, cg, "echo x > /dev/null")
			cmd.Stdout, cmd.Stderr = nil, nil
			err = cmd.Wait()
			if tt.wantErr && err == nil {
				t.Fatal("wrote /dev/null in a container denied it")
			}
			if !tt.wantErr && err != nil {
				t.Fatalf("could not write /dev/null: %v", err)
			}
		})
	}
	if got := deviceRules(Limits{DenyDevices: []Device{{195, 1}}}); len(got) != 2 || !got[0].Allow || got[1].Allow ||
		!strings.Contains(got[1].Type, "c") || *got[1].Major != 195 || *got[1].Minor != 1 {
		t.Fatalf("deviceRules = %+v", got)
	}
}
