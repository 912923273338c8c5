package hosttest

import (
	"strings"
	"testing"
)

// outcome is a testing.TB that records Skip and Fatal instead of stopping the goroutine.
type outcome struct {
	testing.TB
	skipped, failed string
}

func (o *outcome) Helper()           {}
func (o *outcome) Skip(args ...any)  { o.skipped = args[0].(string) }
func (o *outcome) Fatal(args ...any) { o.failed = args[0].(string) }
func (o *outcome) Cleanup(f func())  { o.TB.Cleanup(f) }

func TestRequire(t *testing.T) {
	tests := []struct {
		name, ci, why      string
		wantSkip, wantFail bool
	}{
		{"present", "", "", false, false},
		{"present in CI", "true", "", false, false},
		{"missing locally skips", "", "no java", true, false},
		{"missing in CI fails", "true", "no java", false, true},
		{"CI other than true skips", "1", "no java", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			o := &outcome{TB: t}
			Require(o, tt.why)
			if (o.skipped != "") != tt.wantSkip || (o.failed != "") != tt.wantFail {
				t.Fatalf("skipped %q failed %q; want skip %v fail %v", o.skipped, o.failed, tt.wantSkip, tt.wantFail)
			}
			if tt.why != "" && o.skipped+o.failed != tt.why {
				t.Fatalf("reason %q, want %q", o.skipped+o.failed, tt.why)
			}
		})
	}
}

func TestRequireCommand(t *testing.T) {
	t.Setenv("CI", "")
	o := &outcome{TB: t}
	if p := RequireCommand(o, "sh"); p == "" || o.skipped != "" {
		t.Fatalf("sh: path %q, skipped %q", p, o.skipped)
	}
	RequireCommand(o, "agora-no-such-command")
	if o.skipped == "" {
		t.Fatal("a missing command did not skip")
	}
}

func TestRequireChromiumMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	for _, tc := range []struct {
		name, ci           string
		wantSkip, wantFail bool
	}{
		{"locally skips", "", true, false},
		{"in CI fails", "true", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			o := &outcome{TB: t}
			if p := RequireChromium(o); p != "" {
				t.Fatalf("path %q without chromium in PATH", p)
			}
			if (o.skipped != "") != tc.wantSkip || (o.failed != "") != tc.wantFail {
				t.Fatalf("skipped %q failed %q; want skip %v fail %v", o.skipped, o.failed, tc.wantSkip, tc.wantFail)
			}
			if !strings.Contains(o.skipped+o.failed, "make deps installs Debian's chromium package") {
				t.Errorf("reason %q does not say how to install it", o.skipped+o.failed)
			}
		})
	}
}
