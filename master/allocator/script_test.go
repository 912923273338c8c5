package allocator

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/resources"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the scripts")

// epoch is t=0s in scripts.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// TestScripts runs the scenario scripts in testdata/*.txt and compares their
// transcripts with testdata/*.golden (go test ./master/allocator -update to
// regenerate; review the diff).
//
// Script language, one command per line ('#' starts a comment):
//
//	config min=cpus:0.01|mem:32      recreate the allocator (min=none: no minimum)
//	seed 7                           recreate the allocator's random source
//	weight web 2
//	quota eng [guarantee=cpus:2;mem:1024] [limit=cpus:4] [force]   (neither: remove)
//	agent a1 cpus:4;mem:4096 [used(f1)=cpus:1] [host=h1]
//	update-agent a1 cpus:8;mem:8192
//	remove-agent a1 | activate-agent a1 | deactivate-agent a1
//	framework f1 [roles=web,batch] [inactive] [suppressed=web] [used(a1)=cpus:1]
//	update-framework f1 roles=web,db
//	remove-framework f1 | activate-framework f1 | deactivate-framework f1
//	suppress f1 [roles=web] | revive f1 [roles=web]
//	recover f1 a1 cpus:1 [role=web] [refuse=5s] [t=1s]
//	decline f1 [refuse=5s] [t=1s]    recover every outstanding offer to f1
//	allocate [t=0s]                  prints the offers made
//	expiry                           prints NextFilterExpiry
//	state                            prints roles, frameworks and agents
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txt")
		t.Run(name, func(t *testing.T) {
			script, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := runScript(t, string(script))
			golden := strings.TrimSuffix(file, ".txt") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("transcript differs from %s (run with -update and review the diff):\n%s", golden, lineDiff(string(want), got))
			}
		})
	}
}

// scriptRunner holds the state of one script.
type scriptRunner struct {
	t      *testing.T
	a      *Allocator
	cfg    Config
	seed   uint64
	offers []Offer // outstanding offers, for decline
	out    strings.Builder
}

func runScript(t *testing.T, script string) string {
	r := &scriptRunner{t: t, cfg: DefaultConfig(), seed: 1}
	r.a = New(r.cfg, rand.New(rand.NewPCG(r.seed, 0)))
	sc := bufio.NewScanner(strings.NewReader(script))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		fmt.Fprintf(&r.out, "> %s\n", line)
		if err := r.run(line); err != nil {
			t.Fatalf("line %d: %s: %v", n, line, err)
		}
	}
	return r.out.String()
}

// args splits a command into positional words and key=value options.
func args(fields []string) (pos []string, opts map[string]string) {
	opts = map[string]string{}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			opts[k] = v
		} else if f == "inactive" || f == "force" {
			opts[f] = ""
		} else {
			pos = append(pos, f)
		}
	}
	return pos, opts
}

func (r *scriptRunner) printf(format string, a ...any) {
	fmt.Fprintf(&r.out, "  "+format+"\n", a...)
}

func (r *scriptRunner) run(line string) error {
	fields := strings.Fields(line)
	cmd := fields[0]
	pos, opts := args(fields[1:])
	need := func(n int) error {
		if len(pos) != n {
			return fmt.Errorf("want %d arguments, got %d", n, len(pos))
		}
		return nil
	}
	now, err := parseTime(opts["t"])
	if err != nil {
		return err
	}
	switch cmd {
	case "config":
		r.cfg = DefaultConfig()
		if m, ok := opts["min"]; ok {
			r.cfg.MinAllocatable = nil
			if m != "none" {
				for _, alt := range strings.Split(m, "|") {
					q, err := parseQuantities(alt)
					if err != nil {
						return err
					}
					r.cfg.MinAllocatable = append(r.cfg.MinAllocatable, q)
				}
			}
		}
		if err := r.cfg.Validate(); err != nil {
			return err
		}
		r.a = New(r.cfg, rand.New(rand.NewPCG(r.seed, 0)))
	case "seed":
		if err := need(1); err != nil {
			return err
		}
		s, err := strconv.ParseUint(pos[0], 10, 64)
		if err != nil {
			return err
		}
		r.seed = s
		r.a.rnd = rand.New(rand.NewPCG(s, 0))
	case "weight":
		if err := need(2); err != nil {
			return err
		}
		w, err := strconv.ParseFloat(pos[1], 64)
		if err != nil {
			return err
		}
		if err := r.a.SetWeight(pos[0], w); err != nil {
			r.printf("error: %v", err)
		}
	case "quota":
		if err := need(1); err != nil {
			return err
		}
		var q Quota
		for key, dst := range map[string]*Quantities{"guarantee": &q.Guarantees, "limit": &q.Limits} {
			if v, ok := opts[key]; ok {
				parsed, err := parseQuantities(v)
				if err != nil {
					return err
				}
				*dst = parsed
			}
		}
		_, force := opts["force"]
		if err := r.a.SetQuota(pos[0], q, force); err != nil {
			r.printf("error: %v", err)
		}
	case "agent", "update-agent":
		if err := need(2); err != nil {
			return err
		}
		total, err := resources.Parse(pos[1], "*")
		if err != nil {
			return err
		}
		if cmd == "update-agent" {
			r.a.UpdateAgentTotal(pos[0], total)
			break
		}
		used, err := usedOpts(opts)
		if err != nil {
			return err
		}
		r.a.AddAgent(pos[0], Agent{Hostname: opts["host"], Total: total, Used: used})
	case "remove-agent", "activate-agent", "deactivate-agent",
		"remove-framework", "activate-framework", "deactivate-framework":
		if err := need(1); err != nil {
			return err
		}
		map[string]func(string){
			"remove-agent":         r.a.RemoveAgent,
			"activate-agent":       r.a.ActivateAgent,
			"deactivate-agent":     r.a.DeactivateAgent,
			"remove-framework":     r.a.RemoveFramework,
			"activate-framework":   r.a.ActivateFramework,
			"deactivate-framework": r.a.DeactivateFramework,
		}[cmd](pos[0])
		if cmd == "remove-framework" {
			r.dropOffers(func(o Offer) bool { return o.FrameworkID == pos[0] })
		}
		if cmd == "remove-agent" {
			r.dropOffers(func(o Offer) bool { return o.AgentID == pos[0] })
		}
	case "framework":
		if err := need(1); err != nil {
			return err
		}
		used, err := usedOpts(opts)
		if err != nil {
			return err
		}
		_, inactive := opts["inactive"]
		r.a.AddFramework(pos[0], Framework{
			Roles:           splitList(opts["roles"]),
			Used:            used,
			Active:          !inactive,
			SuppressedRoles: splitList(opts["suppressed"]),
		})
	case "update-framework":
		if err := need(1); err != nil {
			return err
		}
		r.a.UpdateFramework(pos[0], splitList(opts["roles"]))
	case "suppress", "revive":
		if err := need(1); err != nil {
			return err
		}
		roles := splitList(opts["roles"])
		if cmd == "suppress" {
			r.a.Suppress(pos[0], roles)
		} else {
			r.a.Revive(pos[0], roles)
		}
	case "recover":
		if err := need(3); err != nil {
			return err
		}
		res, err := resources.Parse(pos[2], "*")
		if err != nil {
			return err
		}
		refuse, err := parseDuration(opts["refuse"])
		if err != nil {
			return err
		}
		if role, ok := opts["role"]; ok {
			r.a.RecoverRole(pos[0], pos[1], role, res, refuse, now)
		} else {
			r.a.Recover(pos[0], pos[1], res, refuse, now)
		}
		r.dropOffers(func(o Offer) bool { return o.FrameworkID == pos[0] && o.AgentID == pos[1] })
	case "decline":
		if err := need(1); err != nil {
			return err
		}
		refuse, err := parseDuration(opts["refuse"])
		if err != nil {
			return err
		}
		for _, o := range r.dropOffers(func(o Offer) bool { return o.FrameworkID == pos[0] }) {
			r.a.RecoverRole(o.FrameworkID, o.AgentID, o.Role, o.Resources, refuse, now)
		}
	case "allocate":
		offers := r.a.Allocate(now)
		if len(offers) == 0 {
			r.printf("no offers")
		}
		for _, o := range offers {
			r.printf("%s %s role=%s %s", o.FrameworkID, o.AgentID, o.Role, o.Resources)
		}
		r.offers = append(r.offers, offers...)
	case "expiry":
		if t, ok := r.a.NextFilterExpiry(); ok {
			r.printf("next filter expiry t=%s", t.Sub(epoch))
		} else {
			r.printf("no filters")
		}
	case "state":
		r.printState()
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

// dropOffers removes the outstanding offers that match and returns them.
func (r *scriptRunner) dropOffers(match func(Offer) bool) []Offer {
	var dropped, kept []Offer
	for _, o := range r.offers {
		if match(o) {
			dropped = append(dropped, o)
		} else {
			kept = append(kept, o)
		}
	}
	r.offers = kept
	return dropped
}

func (r *scriptRunner) printState() {
	snap := r.a.Snapshot()
	for _, role := range snap.Roles {
		r.printf("role %s weight=%g share=%.4g allocated=%s frameworks=%s",
			role.Name, role.Weight, role.Share, show(role.Allocated), showList(role.Frameworks))
		if q := role.Quota; q != nil {
			r.printf("  quota guarantee=%s limit=%s consumed=%s", showQ(q.Guarantees), showQ(q.Limits), showQ(role.Consumed))
		}
	}
	for _, f := range snap.Frameworks {
		active := "active"
		if !f.Active {
			active = "inactive"
		}
		r.printf("framework %s roles=%s %s suppressed=%s filters=%d allocated=%s",
			f.ID, showList(f.Roles), active, showList(f.Suppressed), f.Filters, show(f.Allocated))
	}
	for _, ag := range snap.Agents {
		active := "active"
		if !ag.Active {
			active = "inactive"
		}
		r.printf("agent %s %s total=%s allocated=%s available=%s",
			ag.ID, active, show(ag.Total), show(ag.Allocated), show(ag.Available))
	}
}

func show(r resources.Resources) string {
	if r.IsEmpty() {
		return "-"
	}
	return r.String()
}

func showQ(q Quantities) string {
	if len(q) == 0 {
		return "-"
	}
	return q.String()
}

func showList(l []string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ",")
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// usedOpts collects used(<id>)=<resources> options.
func usedOpts(opts map[string]string) (map[string]resources.Resources, error) {
	var used map[string]resources.Resources
	for k, v := range opts {
		id, ok := strings.CutPrefix(k, "used(")
		if !ok {
			continue
		}
		res, err := resources.Parse(v, "*")
		if err != nil {
			return nil, err
		}
		if used == nil {
			used = map[string]resources.Resources{}
		}
		used[strings.TrimSuffix(id, ")")] = res
	}
	return used, nil
}

func parseQuantities(s string) (Quantities, error) {
	q := Quantities{}
	for _, part := range strings.Split(s, ";") {
		name, v, ok := strings.Cut(part, ":")
		if !ok {
			return nil, fmt.Errorf("quantity %q: want name:value", part)
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, fmt.Errorf("quantity %q: %w", part, err)
		}
		q[name] = f
	}
	return q, nil
}

func parseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

func parseTime(s string) (time.Time, error) {
	d, err := parseDuration(s)
	return epoch.Add(d), err
}

// lineDiff shows the lines that differ between want and got.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want: %s\n  got:  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}
