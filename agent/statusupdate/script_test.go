package statusupdate

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata scripts with the actual output")

// epoch is the fake clock's start; scripts print times as offsets from it.
var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// block is one command group of a script and the output it produced.
type block struct {
	input  []string // comments and commands
	output []string
}

// parseScript splits a script into blocks: input lines, a "----" line, output lines, and a
// blank line.
func parseScript(t *testing.T, text string) []block {
	t.Helper()
	var blocks []block
	var cur block
	inOutput := false
	flush := func() {
		if len(cur.input) > 0 || len(cur.output) > 0 {
			blocks = append(blocks, cur)
		}
		cur = block{}
		inOutput = false
	}
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.TrimSpace(line) == "":
			if inOutput {
				flush()
			}
		case line == "----":
			inOutput = true
		case inOutput:
			cur.output = append(cur.output, line)
		default:
			cur.input = append(cur.input, line)
		}
	}
	flush()
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
			blocks := parseScript(t, string(data))
			r := &runner{m: New(DefaultConfig()), now: epoch}
			for i := range blocks {
				var got []string
				for _, line := range blocks[i].input {
					if strings.HasPrefix(strings.TrimSpace(line), "#") {
						continue
					}
					got = append(got, r.run(t, line)...)
				}
				got = append(got, r.drain()...)
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

type runner struct {
	m   *Manager
	now time.Time
}

var terminalStates = map[string]bool{
	"TASK_FINISHED": true, "TASK_FAILED": true, "TASK_KILLED": true, "TASK_LOST": true,
	"TASK_ERROR": true, "TASK_DROPPED": true, "TASK_GONE": true, "TASK_GONE_BY_OPERATOR": true,
}

// key parses "task" (framework f1) or "framework/task".
func key(s string) TaskKey {
	if fw, task, ok := strings.Cut(s, "/"); ok {
		return TaskKey{FrameworkID: fw, TaskID: task}
	}
	return TaskKey{FrameworkID: "f1", TaskID: s}
}

func (r *runner) run(t *testing.T, line string) []string {
	t.Helper()
	f := strings.Fields(line)
	need := func(n int) {
		if len(f) != n {
			t.Fatalf("%q: want %d fields", line, n)
		}
	}
	var err error
	var out []string
	switch f[0] {
	case "update", "agent-update": // update <task> <uuid> <state>: from the executor or the agent itself
		need(4)
		err = r.m.Update(Update{Task: key(f[1]), UUID: f[2], State: f[3], Terminal: terminalStates[f[3]],
			FromExecutor: f[0] == "update"}, r.now)
	case "ack": // ack <task> <uuid>
		need(3)
		err = r.m.Ack(key(f[1]), f[2], r.now)
	case "tick": // tick <duration>: advance the clock, then Tick
		need(2)
		d, perr := time.ParseDuration(f[1])
		if perr != nil {
			t.Fatalf("%q: %v", line, perr)
		}
		r.now = r.now.Add(d)
		r.m.Tick(r.now)
	case "pause":
		r.m.Pause()
	case "resume":
		r.m.Resume(r.now)
	case "cleanup": // cleanup <framework>
		need(2)
		r.m.CleanupFramework(f[1])
	case "recover": // recover <task> update:<uuid>:<state> ack:<uuid> ...
		var recs []Record
		for _, tok := range f[2:] {
			parts := strings.Split(tok, ":")
			switch parts[0] {
			case "update":
				recs = append(recs, Record{Type: RecordUpdate, Task: key(f[1]), Update: Update{
					Task: key(f[1]), UUID: parts[1], State: parts[2], Terminal: terminalStates[parts[2]]}})
			case "ack":
				recs = append(recs, Record{Type: RecordAck, Task: key(f[1]), UUID: parts[1]})
			}
		}
		err = r.m.Recover(key(f[1]), recs)
	case "pending": // pending <task>
		need(2)
		var uuids []string
		for _, u := range r.m.Pending(key(f[1])) {
			uuids = append(uuids, u.UUID)
		}
		latest, ok := r.m.Latest(key(f[1]))
		out = append(out, fmt.Sprintf("pending %s [%s] latest=%s open=%v", key(f[1]), strings.Join(uuids, " "), latest, ok))
	default:
		t.Fatalf("unknown command %q", line)
	}
	if err != nil {
		out = append(out, "error: "+err.Error())
	}
	return out
}

func (r *runner) drain() []string {
	var out []string
	rd := r.m.Ready()
	for _, p := range rd.Persist {
		switch p.Type {
		case RecordUpdate:
			out = append(out, fmt.Sprintf("persist update %s %s %s", p.Task, p.Update.UUID, p.Update.State))
		case RecordAck:
			out = append(out, fmt.Sprintf("persist ack %s %s", p.Task, p.UUID))
		}
	}
	for _, u := range rd.AckExecutor {
		out = append(out, fmt.Sprintf("ack-executor %s %s", u.Task, u.UUID))
	}
	for _, u := range rd.Send {
		out = append(out, fmt.Sprintf("send %s %s %s", u.Task, u.UUID, u.State))
	}
	for _, k := range rd.Closed {
		out = append(out, fmt.Sprintf("closed %s", k))
	}
	if next, ok := r.m.NextRetry(); ok {
		out = append(out, fmt.Sprintf("next-retry +%v", next.Sub(epoch)))
	}
	return out
}
