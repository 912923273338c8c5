package resources

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// ParseError reports an invalid entry in a resources or attributes text.
type ParseError struct {
	Entry string // the offending entry, as written
	Msg   string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("resources: %q: %s", e.Entry, e.Msg)
}

// Parse reads the Mesos --resources text form: entries
// "name(role):value" separated by ';', where value is a scalar ("4",
// "0.5"), ranges ("[31000-32000,33000-33000]") or a set ("{a,b}").
// Entries without a role get defaultRole ("" means unreserved, "*").
// Whitespace around tokens is ignored, as are empty entries; entries with
// the same name and role add up; zero quantities are dropped. Errors name
// the offending entry.
//
// Like Mesos, Parse also takes a JSON array of Resource messages
// (`[{"name":"cpus","type":"SCALAR","scalar":{"value":4}}]`); entries
// without role or reservations get defaultRole.
func Parse(text, defaultRole string) (Resources, error) {
	if defaultRole == "" {
		defaultRole = Unreserved
	} else if err := validateRole(defaultRole); err != nil {
		return Resources{}, fmt.Errorf("resources: default role %q: %w", defaultRole, err)
	}
	if strings.HasPrefix(strings.TrimSpace(text), "[") {
		return parseJSON(text, defaultRole)
	}
	var out []Resource
	types := make(map[string]Type)
	for entry := range strings.SplitSeq(text, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		r, err := parseEntry(entry, defaultRole)
		if err != nil {
			return Resources{}, &ParseError{Entry: entry, Msg: err.Error()}
		}
		if t, ok := types[r.Name]; ok && t != r.Type {
			return Resources{}, &ParseError{Entry: entry, Msg: fmt.Sprintf("%s value, but %q is %s elsewhere", r.Type, r.Name, t)}
		}
		types[r.Name] = r.Type
		if !r.IsEmpty() {
			out = append(out, r)
		}
	}
	return fromUnsorted(out), nil
}

// MustParse is Parse with unreserved default role that panics on error; for
// tests and constants.
func MustParse(text string) Resources {
	r, err := Parse(text, "")
	if err != nil {
		panic(err)
	}
	return r
}

func parseEntry(entry, defaultRole string) (Resource, error) {
	key, value, ok := strings.Cut(entry, ":")
	if !ok {
		return Resource{}, fmt.Errorf("missing ':' between name and value")
	}
	if strings.Contains(value, ":") {
		return Resource{}, fmt.Errorf("extra ':' in value")
	}
	key = strings.TrimSpace(key)
	name, role := key, defaultRole
	if open := strings.IndexByte(key, '('); open >= 0 {
		if !strings.HasSuffix(key, ")") {
			return Resource{}, fmt.Errorf("role must be enclosed in ( ) after the name")
		}
		name = strings.TrimSpace(key[:open])
		role = strings.TrimSpace(key[open+1 : len(key)-1])
		if err := validateRole(role); err != nil {
			return Resource{}, fmt.Errorf("invalid role: %w", err)
		}
	}
	if err := validateName(name); err != nil {
		return Resource{}, err
	}
	r := Resource{Name: name, Role: role}
	value = strings.TrimSpace(value)
	switch {
	case strings.HasPrefix(value, "["):
		rs, err := ParseRanges(value)
		if err != nil {
			return Resource{}, fmt.Errorf("invalid ranges value: %w", err)
		}
		r.Type, r.Ranges = RangesType, rs
	case strings.HasPrefix(value, "{"):
		items, err := parseSet(value)
		if err != nil {
			return Resource{}, fmt.Errorf("invalid set value: %w", err)
		}
		r.Type, r.Set = SetType, items
	default:
		s, err := parseScalar(value)
		if err != nil {
			return Resource{}, err
		}
		r.Type, r.Scalar = ScalarType, s
	}
	return r, nil
}

// parseScalar accepts a non-negative decimal number ("4", "0.5", "1e3")
// and rounds it to three decimals.
func parseScalar(s string) (Scalar, error) {
	if s == "" {
		return 0, fmt.Errorf("missing value")
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("negative scalar value")
	}
	if (s[0] < '0' || s[0] > '9') && s[0] != '.' {
		return 0, fmt.Errorf("invalid scalar value")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, fmt.Errorf("invalid scalar value")
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("invalid scalar value")
	}
	if f > maxScalarFloat {
		return 0, fmt.Errorf("scalar value too large")
	}
	return ScalarFromFloat(f), nil
}

func parseSet(value string) ([]string, error) {
	if !strings.HasSuffix(value, "}") || len(value) < 2 {
		return nil, fmt.Errorf("must be enclosed in { }")
	}
	inner := strings.TrimSpace(value[1 : len(value)-1])
	if inner == "" {
		return nil, nil
	}
	var items []string
	for it := range strings.SplitSeq(inner, ",") {
		it = strings.TrimSpace(it)
		if it == "" {
			return nil, fmt.Errorf("empty item")
		}
		if err := validateSetItem(it); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return normalizeSet(items), nil
}

const reservedChars = "(){}[]:;,/\\*"

func validateName(name string) error {
	if name == "" {
		return fmt.Errorf("missing resource name")
	}
	for _, c := range name {
		if unicode.IsSpace(c) || !unicode.IsPrint(c) || strings.ContainsRune("(){}[]:;,", c) {
			return fmt.Errorf("invalid character %q in resource name", c)
		}
	}
	return nil
}

// validateRole checks a role name as Mesos does: "*", or '/'-separated
// segments that are non-empty, not "." or "..", do not start with '-',
// and hold no whitespace, control or reserved characters.
func validateRole(role string) error {
	if role == Unreserved {
		return nil
	}
	if role == "" {
		return fmt.Errorf("empty role")
	}
	for seg := range strings.SplitSeq(role, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("role %q has an empty segment", role)
		case seg == "." || seg == "..":
			return fmt.Errorf("role %q has a %q segment", role, seg)
		case seg[0] == '-':
			return fmt.Errorf("role %q has a segment starting with '-'", role)
		}
		for _, c := range seg {
			if unicode.IsSpace(c) || !unicode.IsPrint(c) || strings.ContainsRune(reservedChars, c) {
				return fmt.Errorf("invalid character %q in role %q", c, role)
			}
		}
	}
	return nil
}

// ValidateRole reports whether role is a valid role name ("*" included).
func ValidateRole(role string) error {
	if err := validateRole(role); err != nil {
		return fmt.Errorf("resources: %w", err)
	}
	return nil
}

// validateSetItem checks that a set item survives the text form.
func validateSetItem(it string) error {
	switch {
	case it == "":
		return fmt.Errorf("empty item")
	case strings.TrimSpace(it) != it:
		return fmt.Errorf("item %q: leading or trailing space", it)
	case strings.ContainsAny(it, "{}[]();:,"):
		return fmt.Errorf("item %q: must not contain any of {}[]();:,", it)
	}
	return nil
}
