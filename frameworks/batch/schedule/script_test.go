package schedule

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/batch/job"
)

var update = flag.Bool("update", false, "rewrite the outputs of testdata/*.txt with the actual ones")

// TestScripts runs testdata/*.txt: blocks of commands, a "----" line, the output they produce,
// and a blank line. The runner plays the shell: it persists Decision.Handled, marks a run active
// when Due starts one, and sleeps until Decision.Wake. Commands:
//
//	schedule <5 cron fields> [tz=Zone] [deadline=seconds] [policy=ALLOW|FORBID] [disabled]
//	        compile a schedule (the watermark starts unset and no run is active)
//	now <RFC 3339 time>      set the clock and evaluate
//	advance <duration>       move the clock on (the framework was down or asleep) and evaluate
//	run-until <RFC 3339>     sleep from wake-up to wake-up until then, evaluating at each
//	finish                   the active run finishes; evaluate
//	enable | disable         change the schedule (keeping the watermark); evaluate
//	next <n>                 print the next n fire times after now
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			blocks := parseScript(string(data))
			r := &runner{}
			for i := range blocks {
				var got []string
				for _, line := range blocks[i].input {
					if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "#") {
						got = append(got, r.run(t, l)...)
					}
				}
				if len(got) == 0 {
					got = []string{"(no output)"}
				}
				if !*update && strings.Join(got, "\n") != strings.Join(blocks[i].output, "\n") {
					t.Errorf("%s: block %d %q:\ngot:\n%s\nwant:\n%s", file, i, blocks[i].input,
						strings.Join(got, "\n"), strings.Join(blocks[i].output, "\n"))
				}
				blocks[i].output = got
			}
			if *update {
				if err := os.WriteFile(file, []byte(formatScript(blocks)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

type block struct{ input, output []string }

func parseScript(text string) []block {
	var blocks []block
	var cur block
	inOutput := false
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			if inOutput {
				blocks, cur, inOutput = append(blocks, cur), block{}, false
			}
		case line == "----":
			inOutput = true
		case inOutput:
			cur.output = append(cur.output, line)
		default:
			cur.input = append(cur.input, line)
		}
	}
	if len(cur.input) > 0 || len(cur.output) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

func formatScript(blocks []block) string {
	var b strings.Builder
	for i, bl := range blocks {
		if i > 0 {
			b.WriteString("\n")
		}
		for _, l := range bl.input {
			b.WriteString(l + "\n")
		}
		b.WriteString("----\n")
		for _, l := range bl.output {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

type runner struct {
	spec    job.Schedule
	s       *Schedule
	handled time.Time // the persisted watermark
	now     time.Time
	active  bool
	wake    time.Time
}

func (r *runner) run(t *testing.T, line string) []string {
	t.Helper()
	f := strings.Fields(line)
	arg := func() string {
		if len(f) != 2 {
			t.Fatalf("%q: want one argument", line)
		}
		return f[1]
	}
	if f[0] != "schedule" && r.s == nil {
		t.Fatalf("%q before a schedule", line)
	}
	switch f[0] {
	case "schedule":
		return r.compile(t, f[1:])
	case "now":
		r.now = parseTime(t, arg())
		return []string{r.eval()}
	case "advance":
		d, err := time.ParseDuration(arg())
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		r.now = r.now.Add(d)
		return []string{r.eval()}
	case "run-until":
		limit := parseTime(t, arg())
		var out []string
		for n := 0; !r.wake.IsZero() && !r.wake.After(limit); n++ {
			if n == 1000 {
				t.Fatalf("%q: more than 1000 wake-ups", line)
			}
			r.now = r.wake
			out = append(out, r.eval())
		}
		if r.now.Before(limit) {
			r.now = limit
		}
		return append(out, "asleep until "+r.fmt(r.wake))
	case "finish":
		if !r.active {
			t.Fatalf("%q: no run is active", line)
		}
		r.active = false
		return []string{r.eval()}
	case "enable", "disable":
		r.spec.Enabled = f[0] == "enable"
		s, err := Compile(r.spec)
		if err != nil {
			t.Fatal(err)
		}
		r.s = s
		return []string{r.eval()}
	case "next":
		n, err := strconv.Atoi(arg())
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		var out []string
		for at, i := r.now, 0; i < n; i++ {
			at = r.s.Next(at)
			out = append(out, r.fmt(at))
		}
		return out
	}
	t.Fatalf("unknown command %q", line)
	return nil
}

func (r *runner) compile(t *testing.T, f []string) []string {
	t.Helper()
	if len(f) < 5 {
		t.Fatalf("schedule: want 5 cron fields, got %q", f)
	}
	s := job.DefaultSchedule()
	s.ID, s.Cron = "s", strings.Join(f[:5], " ")
	for _, opt := range f[5:] {
		k, v, _ := strings.Cut(opt, "=")
		var err error
		switch k {
		case "tz":
			s.Timezone = v
		case "deadline":
			s.StartingDeadlineSeconds, err = strconv.Atoi(v)
		case "policy":
			s.ConcurrencyPolicy = job.ConcurrencyPolicy(v)
		case "disabled":
			s.Enabled = false
		default:
			t.Fatalf("schedule: unknown option %q", opt)
		}
		if err != nil {
			t.Fatalf("schedule: %q: %v", opt, err)
		}
	}
	c, err := Compile(s)
	if err != nil {
		r.s = nil
		return []string{"error: " + err.Error()}
	}
	*r = runner{spec: s, s: c, now: r.now}
	return []string{fmt.Sprintf("ok: %s in %s, deadline %ds, %s", s.Cron, s.Timezone, s.StartingDeadlineSeconds, s.ConcurrencyPolicy)}
}

// eval calls Due as the shell would and applies the decision.
func (r *runner) eval() string {
	d := r.s.Due(r.handled, r.now, r.active)
	parts := []string{r.fmt(r.now) + ":"}
	if !d.Start.IsZero() {
		parts = append(parts, "start "+r.fmt(d.Start))
		r.active = true
	}
	if !d.Skipped.IsZero() {
		parts = append(parts, fmt.Sprintf("skip %s (%s)", r.fmt(d.Skipped), d.Reason))
	}
	if !d.Waiting.IsZero() {
		parts = append(parts, "waiting "+r.fmt(d.Waiting))
	}
	if len(parts) == 1 {
		parts = append(parts, "nothing")
	}
	if !d.Handled.Equal(r.handled) && !d.Handled.Equal(d.Start) && !d.Handled.Equal(d.Skipped) {
		parts = append(parts, "handled "+r.fmt(d.Handled))
	}
	parts = append(parts, "wake "+r.fmt(d.Wake))
	if r.active {
		parts = append(parts, "[active]")
	}
	r.handled, r.wake = d.Handled, d.Wake
	return strings.Join(parts, " ")
}

func (r *runner) fmt(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.In(r.s.Location()).Format("2006-01-02T15:04:05Z07:00")
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
