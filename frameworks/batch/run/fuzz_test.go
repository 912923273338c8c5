package run

import (
	"strings"
	"testing"
)

// FuzzParseTaskID: task ids arrive from the master; any string is split without panicking,
// and an id made by TaskID splits back into its parts.
func FuzzParseTaskID(f *testing.F) {
	f.Add("prod.backup_20260102030405abcde.7")
	f.Add("a_b_c.1")
	f.Add("_.")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		job, run, ok := ParseTaskID(s)
		if !ok {
			return
		}
		if job == "" || run == "" || strings.Contains(run, "_") {
			t.Fatalf("ParseTaskID(%q) = %q, %q", s, job, run)
		}
		if !strings.HasPrefix(s, job+"_"+run+".") {
			t.Fatalf("ParseTaskID(%q) = %q, %q: not the id's prefix", s, job, run)
		}
		if j2, r2, ok2 := ParseTaskID(TaskID(job, run, 3)); !ok2 || j2 != job || r2 != run {
			t.Fatalf("TaskID(%q, %q, 3) parses as %q, %q, %v", job, run, j2, r2, ok2)
		}
	})
}
