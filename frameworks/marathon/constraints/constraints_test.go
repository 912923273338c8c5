package constraints

import (
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		raw  []string
		want string
	}{
		{[]string{"hostname", "UNIQUE"}, ""},
		{[]string{"hostname", "unique"}, ""},
		{[]string{"hostname", "UNIQUE", "x"}, MsgValueNotUsed},
		{[]string{"rack", "CLUSTER"}, MsgMissingValue},
		{[]string{"rack", "CLUSTER", "r1"}, ""},
		{[]string{"rack", "GROUP_BY"}, ""},
		{[]string{"rack", "GROUP_BY", "3"}, ""},
		{[]string{"rack", "GROUP_BY", "x"}, MsgGroupByNumber},
		{[]string{"zone", "LIKE", "us-.*"}, ""},
		{[]string{"zone", "LIKE"}, MsgRegexMissing},
		{[]string{"zone", "UNLIKE", "(["}, "'([' is not a valid regular expression"},
		{[]string{"z", "MAX_PER", "2"}, ""},
		{[]string{"z", "MAX_PER"}, MsgMaxPerNumber},
		{[]string{"z", "MAX_PER", "two"}, MsgMaxPerNumber},
		{[]string{"w", "IS", "v"}, ""},
		{[]string{"w", "IS"}, MsgMissingValue},
		{[]string{"w", "NEAR", "v"}, MsgOperator},
		{[]string{"w"}, MsgFields},
		{[]string{"a", "b", "c", "d"}, MsgFields},
		{[]string{"", "UNIQUE"}, MsgMissingField},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.raw, ","), func(t *testing.T) {
			if got := Check(tt.raw); got != tt.want {
				t.Fatalf("Check(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func host(h string, attrs ...string) Agent {
	a := Agent{Hostname: h, Attributes: map[string]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		a.Attributes[attrs[i]] = attrs[i+1]
	}
	return a
}

func TestFeasible(t *testing.T) {
	r1a := host("a", "rack", "r1")
	r1b := host("b", "rack", "r1")
	r2c := host("c", "rack", "r2")
	r3d := host("d", "rack", "r3")
	tests := []struct {
		name   string
		raw    []string
		agent  Agent
		placed []Placement
		want   bool
		reason string
	}{
		{"unique empty", []string{"hostname", "UNIQUE"}, r1a, nil, true, ""},
		{"unique taken", []string{"hostname", "UNIQUE"}, r1a, []Placement{r1a}, false, `a task already runs where hostname is "a"`},
		{"unique other host", []string{"hostname", "UNIQUE"}, r1b, []Placement{r1a}, true, ""},
		{"unique attribute", []string{"rack", "UNIQUE"}, r1b, []Placement{r1a}, false, `where rack is "r1"`},
		{"missing attribute", []string{"zone", "UNIQUE"}, r1a, nil, false, `agent has no attribute "zone"`},
		{"cluster match", []string{"rack", "CLUSTER", "r1"}, r1a, nil, true, ""},
		{"cluster miss", []string{"rack", "CLUSTER", "r1"}, r2c, nil, false, `rack is "r2", not "r1"`},
		{"is match", []string{"rack", "IS", "r2"}, r2c, nil, true, ""},
		{"like match", []string{"rack", "LIKE", "r[12]"}, r2c, nil, true, ""},
		{"like is anchored", []string{"rack", "LIKE", "r"}, r2c, nil, false, "does not match"},
		{"unlike match", []string{"rack", "UNLIKE", "r1"}, r1a, nil, false, "matches"},
		{"unlike ok", []string{"rack", "UNLIKE", "r1"}, r2c, nil, true, ""},
		{"unlike no attribute", []string{"zone", "UNLIKE", "x"}, r2c, nil, true, ""},
		{"max per under", []string{"rack", "MAX_PER", "2"}, r1b, []Placement{r1a}, true, ""},
		{"max per reached", []string{"rack", "MAX_PER", "2"}, r1b, []Placement{r1a, r1a}, false, "2 tasks already run"},
		{"group by new group", []string{"rack", "GROUP_BY"}, r2c, []Placement{r1a}, true, ""},
		{"group by smallest", []string{"rack", "GROUP_BY"}, r2c, []Placement{r1a, r2c}, true, ""},
		{"group by too many", []string{"rack", "GROUP_BY"}, r1b, []Placement{r1a, r1a, r2c}, false, "more than the smallest group"},
		{"group by needs 3 groups", []string{"rack", "GROUP_BY", "3"}, r1b, []Placement{r1a, r2c}, false, "fewer than 3 groups"},
		{"group by third group", []string{"rack", "GROUP_BY", "3"}, r3d, []Placement{r1a, r2c}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.raw)
			if err != nil {
				t.Fatal(err)
			}
			ok, reason := c.Feasible(tt.agent, tt.placed)
			if ok != tt.want || !strings.Contains(reason, tt.reason) || (ok && reason != "") {
				t.Fatalf("Feasible = %v %q, want %v containing %q", ok, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestFeasibleAll(t *testing.T) {
	cs, err := ParseAll([][]string{{"hostname", "UNIQUE"}, {"rack", "CLUSTER", "r1"}})
	if err != nil {
		t.Fatal(err)
	}
	ok, reason := FeasibleAll(cs, host("a", "rack", "r2"), nil)
	if ok || !strings.Contains(reason, `["rack","CLUSTER","r1"]`) {
		t.Fatalf("got %v %q", ok, reason)
	}
	if _, err := ParseAll([][]string{{"a", "UNIQUE"}, {"b"}}); err == nil || !strings.Contains(err.Error(), "constraints(1)") {
		t.Fatalf("ParseAll error = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("hostname", "UNIQUE", "", false, "h", "r1")
	f.Add("rack", "GROUP_BY", "3", true, "h", "r1")
	f.Add("rack", "LIKE", "r[0-9]+", true, "h", "r12")
	f.Add("rack", "MAX_PER", "1", true, "h", "r1")
	f.Fuzz(func(t *testing.T, field, op, value string, hasValue bool, hostname, attr string) {
		raw := []string{field, op}
		if hasValue {
			raw = append(raw, value)
		}
		c, err := Parse(raw)
		if err != nil {
			if Check(raw) != err.Error() {
				t.Fatalf("Check and Parse disagree")
			}
			return
		}
		a := Agent{Hostname: hostname, Attributes: map[string]string{field: attr}}
		ok, reason := c.Feasible(a, []Placement{a, {Hostname: attr}})
		if ok != (reason == "") {
			t.Fatalf("ok=%v but reason %q", ok, reason)
		}
	})
}
