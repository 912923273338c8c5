package constraints

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Operator is a Marathon constraint operator.
type Operator string

// The operators Marathon 1.x supports.
const (
	Unique  Operator = "UNIQUE"
	Cluster Operator = "CLUSTER"
	GroupBy Operator = "GROUP_BY"
	Like    Operator = "LIKE"
	Unlike  Operator = "UNLIKE"
	MaxPer  Operator = "MAX_PER"
	Is      Operator = "IS"
)

// FieldHostname selects the agent's hostname instead of an attribute.
const FieldHostname = "hostname"

// Marathon's validation messages.
const (
	MsgFields        = "Each constraint must have either 2 or 3 fields"
	MsgMissingField  = "Missing field and operator"
	MsgValueNotUsed  = "Value specified but not used"
	MsgMissingValue  = "Missing value"
	MsgGroupByNumber = "Value was specified but is not a number"
	MsgMaxPerNumber  = "Value was not specified or is not a number"
	MsgRegexMissing  = "A regular expression value must be provided"
	MsgOperator      = "Operator must be one of UNIQUE, CLUSTER, GROUP_BY, LIKE, MAX_PER, UNLIKE or IS"
)

// Constraint is one parsed constraint.
type Constraint struct {
	Field    string
	Operator Operator
	Value    string // "" when absent
	HasValue bool

	n  int            // GROUP_BY minimum groups / MAX_PER limit
	re *regexp.Regexp // LIKE / UNLIKE, anchored
}

// Agent is a candidate for a task: its hostname and text attributes.
type Agent struct {
	Hostname   string
	Attributes map[string]string
}

// Placement is where one existing task of the app runs.
type Placement = Agent

// Parse validates a constraint in its JSON form and returns it, or an error
// whose text is Marathon's message.
func Parse(raw []string) (Constraint, error) {
	if len(raw) < 2 || len(raw) > 3 {
		return Constraint{}, errors.New(MsgFields)
	}
	c := Constraint{Field: raw[0], Operator: Operator(strings.ToUpper(raw[1]))}
	if len(raw) == 3 {
		c.Value, c.HasValue = raw[2], true
	}
	if c.Field == "" || raw[1] == "" {
		return Constraint{}, errors.New(MsgMissingField)
	}
	switch c.Operator {
	case Unique:
		if c.Value != "" {
			return Constraint{}, errors.New(MsgValueNotUsed)
		}
	case Cluster, Is:
		if c.Value == "" {
			return Constraint{}, errors.New(MsgMissingValue)
		}
	case GroupBy:
		if c.HasValue {
			n, err := strconv.Atoi(c.Value)
			if err != nil {
				return Constraint{}, errors.New(MsgGroupByNumber)
			}
			c.n = n
		}
	case MaxPer:
		n, err := strconv.Atoi(c.Value)
		if !c.HasValue || err != nil {
			return Constraint{}, errors.New(MsgMaxPerNumber)
		}
		c.n = n
	case Like, Unlike:
		if !c.HasValue {
			return Constraint{}, errors.New(MsgRegexMissing)
		}
		re, err := regexp.Compile(`^(?:` + c.Value + `)$`)
		if err != nil {
			return Constraint{}, fmt.Errorf("'%s' is not a valid regular expression", c.Value)
		}
		c.re = re
	default:
		return Constraint{}, errors.New(MsgOperator)
	}
	return c, nil
}

// Check returns Marathon's message for an invalid constraint, or "".
func Check(raw []string) string {
	if _, err := Parse(raw); err != nil {
		return err.Error()
	}
	return ""
}

// ParseAll parses every constraint of an app.
func ParseAll(raw [][]string) ([]Constraint, error) {
	out := make([]Constraint, 0, len(raw))
	for i, r := range raw {
		c, err := Parse(r)
		if err != nil {
			return nil, fmt.Errorf("constraints(%d): %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// String renders the constraint in its JSON form.
func (c Constraint) String() string {
	if c.HasValue {
		return fmt.Sprintf("[%q,%q,%q]", c.Field, string(c.Operator), c.Value)
	}
	return fmt.Sprintf("[%q,%q]", c.Field, string(c.Operator))
}

func (c Constraint) valueOf(a Agent) (string, bool) {
	if c.Field == FieldHostname || c.Field == "@hostname" {
		return a.Hostname, true
	}
	v, ok := a.Attributes[c.Field]
	return v, ok
}

// Feasible reports whether a new task of the app may run on agent, given
// where the app's tasks already run. When it may not, reason says why.
func (c Constraint) Feasible(agent Agent, placed []Placement) (ok bool, reason string) {
	value, has := c.valueOf(agent)
	fail := func(format string, args ...any) (bool, string) {
		return false, fmt.Sprintf("constraint %s not met: ", c) + fmt.Sprintf(format, args...)
	}
	if !has && c.Operator != Unlike {
		return fail("agent has no attribute %q", c.Field)
	}
	counts := map[string]int{}
	for _, p := range placed {
		if v, ok := c.valueOf(p); ok {
			counts[v]++
		}
	}
	switch c.Operator {
	case Unique:
		if counts[value] > 0 {
			return fail("a task already runs where %s is %q", c.Field, value)
		}
	case Cluster, Is:
		if value != c.Value {
			return fail("%s is %q, not %q", c.Field, value, c.Value)
		}
	case Like:
		if !c.re.MatchString(value) {
			return fail("%s %q does not match", c.Field, value)
		}
	case Unlike:
		if has && c.re.MatchString(value) {
			return fail("%s %q matches", c.Field, value)
		}
	case MaxPer:
		if counts[value] >= c.n {
			return fail("%d tasks already run where %s is %q", counts[value], c.Field, value)
		}
	case GroupBy:
		n, seen := counts[value]
		if !seen {
			return true, ""
		}
		min := n
		for _, k := range counts {
			if k < min {
				min = k
			}
		}
		groups := c.n
		if groups < 1 {
			groups = 1
		}
		if len(counts) < groups {
			return fail("%s %q already has tasks and fewer than %d groups are used", c.Field, value, groups)
		}
		if n != min {
			return fail("%s %q has %d tasks, more than the smallest group (%d)", c.Field, value, n, min)
		}
	}
	return true, ""
}

// FeasibleAll checks every constraint and returns the first reason that fails.
func FeasibleAll(cs []Constraint, agent Agent, placed []Placement) (bool, string) {
	for _, c := range cs {
		if ok, reason := c.Feasible(agent, placed); !ok {
			return false, reason
		}
	}
	return true, ""
}
