package planner

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// sim is the scenario scripts' stand-in for the framework loop: it owns the
// state, carries out actions the way the loop will, and plays the cluster.
type sim struct {
	current map[string]AppSpec
	target  map[string]AppSpec
	state   State
	plan    Plan
	step    int
	clock   time.Time
	seq     map[string]int
	out     strings.Builder
}

func newSim() *sim {
	return &sim{
		current: map[string]AppSpec{}, target: map[string]AppSpec{},
		state: State{Queued: map[string]Queued{}},
		clock: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), seq: map[string]int{},
	}
}

func (s *sim) printf(format string, args ...any) { fmt.Fprintf(&s.out, format, args...) }

func parseSpec(args []string) (AppSpec, error) {
	sp := AppSpec{ID: args[0], Instances: 1, MinimumHealthCapacity: 1, MaximumOverCapacity: 1, KillSelection: "YOUNGEST_FIRST"}
	for _, kv := range args[1:] {
		k, v, _ := strings.Cut(kv, "=")
		var err error
		switch k {
		case "v":
			sp.Version = v
		case "n":
			sp.Instances, err = strconv.Atoi(v)
		case "mhc":
			sp.MinimumHealthCapacity, err = strconv.ParseFloat(v, 64)
		case "moc":
			sp.MaximumOverCapacity, err = strconv.ParseFloat(v, 64)
		case "kill":
			sp.KillSelection = v
		case "deps":
			sp.Dependencies = strings.Split(v, ",")
		default:
			err = fmt.Errorf("unknown key %q", k)
		}
		if err != nil {
			return sp, err
		}
	}
	return sp, nil
}

func (s *sim) newTask(appID, version string, st TaskState, healthy bool) Task {
	s.seq[appID]++
	s.clock = s.clock.Add(time.Second)
	t := Task{ID: fmt.Sprintf("%s.%d", strings.TrimPrefix(appID, "/"), s.seq[appID]), AppID: appID, Version: version,
		State: st, Healthy: healthy, Ready: healthy}
	if st == Running {
		t.StartedAt = s.clock
	}
	return t
}

func (s *sim) apply(acts []Action) {
	for _, a := range acts {
		switch a.Kind {
		case Start:
			q := s.state.Queued[a.AppID]
			s.state.Queued[a.AppID] = Queued{Version: a.Version, Count: q.Count + a.Count}
		case Kill:
			for i := range s.state.Tasks {
				if s.state.Tasks[i].ID == a.TaskID {
					s.state.Tasks[i].State = Killing
				}
			}
		case Purge:
			delete(s.state.Queued, a.AppID)
		case Dequeue:
			q := s.state.Queued[a.AppID]
			q.Count -= a.Count
			s.state.Queued[a.AppID] = q
		}
	}
}

func fmtActions(acts []Action) string {
	if len(acts) == 0 {
		return "-"
	}
	var parts []string
	for _, a := range acts {
		switch a.Kind {
		case Start:
			parts = append(parts, fmt.Sprintf("start %s@%s x%d", a.AppID, a.Version, a.Count))
		case Kill:
			parts = append(parts, fmt.Sprintf("kill %s (%s)", a.TaskID, a.Reason))
		case Purge:
			parts = append(parts, fmt.Sprintf("purge %s", a.AppID))
		case Dequeue:
			parts = append(parts, fmt.Sprintf("dequeue %s x%d", a.AppID, a.Count))
		}
	}
	return strings.Join(parts, ", ")
}

func (s *sim) summary() string {
	byApp := map[string][]string{}
	for _, t := range s.state.Tasks {
		flag := ""
		switch {
		case t.State == Killing:
			flag = "k"
		case t.State == Staging:
			flag = "s"
		case t.State == Unreachable:
			flag = "u"
		case !t.Healthy:
			flag = "!"
		}
		byApp[t.AppID] = append(byApp[t.AppID], t.Version+flag)
	}
	var apps []string
	for id := range byApp {
		apps = append(apps, id)
	}
	for id, q := range s.state.Queued {
		if q.Count > 0 && byApp[id] == nil {
			apps = append(apps, id)
		}
	}
	sort.Strings(apps)
	var parts []string
	for _, id := range apps {
		vs := byApp[id]
		sort.Strings(vs)
		p := id + "[" + strings.Join(vs, " ") + "]"
		if q := s.state.Queued[id]; q.Count > 0 {
			p += fmt.Sprintf("+q%d@%s", q.Count, q.Version)
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, " ")
}

// launch turns up to n queued launches of app into tasks.
func (s *sim) launch(appID string, n int, st TaskState, healthy bool) {
	q := s.state.Queued[appID]
	for ; n > 0 && q.Count > 0; n-- {
		q.Count--
		s.state.Tasks = append(s.state.Tasks, s.newTask(appID, q.Version, st, healthy))
	}
	s.state.Queued[appID] = q
}

func (s *sim) removeKilling() {
	live := s.state.Tasks[:0]
	for _, t := range s.state.Tasks {
		if t.State != Killing {
			live = append(live, t)
		}
	}
	s.state.Tasks = live
}

func (s *sim) find(id string) *Task {
	for i := range s.state.Tasks {
		if s.state.Tasks[i].ID == id {
			return &s.state.Tasks[i]
		}
	}
	return nil
}

func (s *sim) run(cmd string, args []string) error {
	switch cmd {
	case "current", "target":
		sp, err := parseSpec(args)
		if err != nil {
			return err
		}
		if cmd == "current" {
			s.current[sp.ID] = sp
		} else {
			s.target[sp.ID] = sp
		}
	case "tasks": // tasks <app> <version> <count> [running|staging|unreachable] [unhealthy]
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		st := Running
		if len(args) > 3 {
			st = TaskState(args[3])
		}
		healthy := st == Running && !(len(args) > 4 && args[4] == "unhealthy")
		for i := 0; i < n; i++ {
			s.state.Tasks = append(s.state.Tasks, s.newTask(args[0], args[1], st, healthy))
		}
	case "plan":
		p, err := NewPlan("d1", "2024-01-01T00:00:00.000Z", s.current, s.target)
		if err != nil {
			s.printf("  error: %v\n", err)
			return nil
		}
		s.plan, s.step = p, 0
		s.printf("  %s\n", strings.ReplaceAll(p.String(), "\n", "\n  "))
	case "revert":
		p, err := Revert(s.plan, "d2", "2024-01-01T00:01:00.000Z", s.target)
		if err != nil {
			return err
		}
		s.current, s.target = s.target, nil
		s.plan, s.step = p, 0
		s.printf("  %s\n", strings.ReplaceAll(p.String(), "\n", "\n  "))
	case "next":
		step, acts, finished := Advance(s.plan, s.step, s.state, s.clock)
		s.step = step
		s.apply(acts)
		if finished {
			s.printf("  finished\n")
		} else {
			s.printf("  step %d: %s\n", step+1, fmtActions(acts))
		}
	case "launch": // launch <app> <n> [staging|unhealthy]
		n, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		st, healthy := Running, true
		if len(args) > 2 && args[2] == "staging" {
			st, healthy = Staging, false
		}
		if len(args) > 2 && args[2] == "unhealthy" {
			healthy = false
		}
		s.launch(args[0], n, st, healthy)
	case "healthy", "unhealthy": // healthy <task>...
		for _, id := range args {
			t := s.find(id)
			if t == nil {
				return fmt.Errorf("no task %s", id)
			}
			if t.State == Staging {
				t.State, t.StartedAt = Running, s.clock
			}
			t.Healthy, t.Ready = cmd == "healthy", cmd == "healthy"
		}
	case "gone": // gone <task>... : terminal (failed, killed, lost)
		for _, id := range args {
			for i, t := range s.state.Tasks {
				if t.ID == id {
					s.state.Tasks = append(s.state.Tasks[:i], s.state.Tasks[i+1:]...)
					break
				}
			}
		}
	case "killed": // every killing task becomes terminal
		s.removeKilling()
	case "settle": // loop: next; kills complete; queued launches run healthy
		for round := 1; round <= 50; round++ {
			step, acts, finished := Advance(s.plan, s.step, s.state, s.clock)
			s.step = step
			if finished {
				s.printf("  finished after %d rounds: %s\n", round-1, s.summary())
				return nil
			}
			s.apply(acts)
			s.printf("  %d. step %d: %s => %s\n", round, step+1, fmtActions(acts), s.summary())
			s.removeKilling()
			for id := range s.state.Queued {
				s.launch(id, s.state.Queued[id].Count, Running, true)
			}
		}
		s.printf("  not finished after 50 rounds\n")
	case "state":
		s.printf("  %s\n", s.summary())
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			s := newSim()
			for i, line := range strings.Split(string(src), "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					if strings.HasPrefix(line, "#") {
						s.printf("%s\n", line)
					}
					continue
				}
				s.printf("> %s\n", line)
				f := strings.Fields(line)
				if err := s.run(f[0], f[1:]); err != nil {
					t.Fatalf("%s:%d: %v", file, i+1, err)
				}
			}
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(s.out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got := s.out.String(); got != string(want) {
				t.Fatalf("output differs from %s (rerun with -update and review the diff):\n%s", golden, got)
			}
		})
	}
}
