package run

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestAppendJSONIsJSONMarshal: for random runs (nil and set optional fields, strings that
// need escaping, times in other zones and with and without fractions), AppendJSON writes
// exactly what json.Marshal writes, so the records on disk do not change.
func TestAppendJSONIsJSONMarshal(t *testing.T) {
	strs := []string{"", "a", "TASK_RUNNING", "prod.backup_20260102030405abcde.7", `quo"te`, `back\slash`,
		"<html>&amp;", "tab\tnew\nline", "\x00\x1f", "é ü 日本", "\u2028\u2029", "bad \xff utf-8", "http://10.0.0.1:5051"}
	zones := []*time.Location{time.UTC, time.FixedZone("x", -7*3600-1800), time.FixedZone("y", 5*3600)}
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string { return strs[rng.IntN(len(strs))] }
	tm := func() time.Time {
		return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])
	}
	tp := func() *time.Time {
		if rng.IntN(2) == 0 {
			return nil
		}
		t := tm()
		return &t
	}
	ip := func() *int {
		if rng.IntN(2) == 0 {
			return nil
		}
		n := rng.IntN(300) - 150
		return &n
	}
	for i := range 500 {
		r := &Run{ID: str(), JobID: str(), Status: Status(str()), CreatedAt: tm(), CompletedAt: tp(),
			Params: Params{Parallelism: rng.IntN(5), Completions: rng.IntN(5), RetryOnFailure: rng.IntN(2) == 0,
				ActiveDeadline: time.Duration(rng.Int64N(1e12)), RetryLimit: rng.IntN(3)},
			Failures: rng.IntN(3), RetryAt: tp(), Reason: str(), Trigger: str(), FireTime: tp(), Seq: rng.IntN(1e6)}
		if rng.IntN(10) > 0 {
			r.Tasks = []*Task{}
			for range rng.IntN(4) {
				r.Tasks = append(r.Tasks, &Task{ID: str(), Status: str(), StartedAt: tm(), CompletedAt: tp(),
					AgentID: str(), Host: str(), AgentURL: str(), Sandbox: str(), ExitStatus: ip(), Message: str()})
			}
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Fatalf("run %d:\nAppendJSON   %s\njson.Marshal %s", i, got, want)
		}
	}
}

// BenchmarkEncodeRun: one run of 1,000 finished tasks, as the state writer encodes it.
func BenchmarkEncodeRun(b *testing.B) {
	r := New("prod.backup", "20260102030405abcde", Params{Parallelism: 1000, Completions: 1000}, t0)
	for range 1000 {
		r.Launch("c1a3e7f0-5d7b-4a53-9d0e-1f2d3c4b5a69-S12", "agent12.example.com", t0)
	}
	code := 0
	for _, t := range r.Tasks {
		r.Update(TaskUpdate{ID: t.ID, State: 2, Message: "Command exited with status 0", ExitStatus: &code}, t0.Add(time.Second), nil)
	}
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			if _, err := json.Marshal(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendJSON", func(b *testing.B) {
		for b.Loop() {
			r.AppendJSON(nil)
		}
	})
}

// TestRecordsPageTheTasks: a run of more than PageSize tasks is a header with the first
// PageSize tasks and the page count, and pages of the rest in order; together they decode
// back to the run.
func TestRecordsPageTheTasks(t *testing.T) {
	for _, n := range []int{0, 1, PageSize, PageSize + 1, 2 * PageSize, 2*PageSize + 7} {
		r := &Run{ID: "r", JobID: "j", Status: Active, CreatedAt: time.Unix(1, 0).UTC(), Tasks: []*Task{}, Seq: n}
		for i := range n {
			r.Tasks = append(r.Tasks, &Task{ID: "j_r." + strconv.Itoa(i+1), Status: "TASK_RUNNING", StartedAt: time.Unix(2, 0).UTC()})
		}
		header, pages := r.Records()
		if len(pages) != PagesOf(n) {
			t.Fatalf("%d tasks: %d pages, want PagesOf = %d", n, len(pages), PagesOf(n))
		}
		var back Run
		if err := json.Unmarshal(header, &back); err != nil {
			t.Fatal(err)
		}
		if back.TaskPages != len(pages) || len(back.Tasks) != min(n, PageSize) {
			t.Fatalf("%d tasks: header with %d tasks and taskPages %d", n, len(back.Tasks), back.TaskPages)
		}
		for _, p := range pages {
			var tasks []*Task
			if err := json.Unmarshal(p, &tasks); err != nil {
				t.Fatal(err)
			}
			back.Tasks = append(back.Tasks, tasks...)
		}
		back.TaskPages = 0
		want, _ := json.Marshal(r)
		if got, _ := json.Marshal(&back); !bytes.Equal(got, want) {
			t.Fatalf("%d tasks: header and pages decode to another run", n)
		}
	}
}
