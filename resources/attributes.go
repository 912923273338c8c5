package resources

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// ParseAttributes reads agent attributes in the Mesos --attributes form
// "rack:r1;zone:a;level:3;ports:[1-2];disks:{a,b}". As in Mesos, a value
// is a SCALAR if it is a number, RANGES if it starts with '[', a SET if it
// starts with '{', and TEXT otherwise. Order is preserved. Errors name the
// offending entry.
func ParseAttributes(text string) ([]*mesos.Attribute, error) {
	var out []*mesos.Attribute
	seen := make(map[string]bool)
	for entry := range strings.SplitSeq(text, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		a, err := parseAttribute(entry)
		if err != nil {
			return nil, fmt.Errorf("attributes: %q: %w", entry, err)
		}
		if seen[a.GetName()] {
			return nil, fmt.Errorf("attributes: %q: duplicate attribute %q", entry, a.GetName())
		}
		seen[a.GetName()] = true
		out = append(out, a)
	}
	return out, nil
}

func parseAttribute(entry string) (*mesos.Attribute, error) {
	name, value, ok := strings.Cut(entry, ":")
	if !ok {
		return nil, fmt.Errorf("missing ':' between name and value")
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if err := validateName(name); err != nil {
		return nil, fmt.Errorf("attribute name: %w", err)
	}
	if value == "" {
		return nil, fmt.Errorf("missing value")
	}
	a := &mesos.Attribute{Name: proto.String(name)}
	switch {
	case value[0] == '[':
		rs, err := ParseRanges(value)
		if err != nil {
			return nil, fmt.Errorf("invalid ranges value: %w", err)
		}
		a.Type = mesos.Value_RANGES.Enum()
		a.Ranges = rangesToProto(rs)
	case value[0] == '{':
		items, err := parseSet(value)
		if err != nil {
			return nil, fmt.Errorf("invalid set value: %w", err)
		}
		a.Type = mesos.Value_SET.Enum()
		a.Set = &mesos.Value_Set{Item: items}
	default:
		if f, ok := parseAttributeScalar(value); ok {
			a.Type = mesos.Value_SCALAR.Enum()
			a.Scalar = &mesos.Value_Scalar{Value: proto.Float64(f)}
			break
		}
		if strings.ContainsAny(value, "{}[]();") {
			return nil, fmt.Errorf("not a scalar, ranges, set or text value")
		}
		a.Type = mesos.Value_TEXT.Enum()
		a.Text = &mesos.Value_Text{Value: proto.String(value)}
	}
	return a, nil
}

// parseAttributeScalar accepts a finite decimal number, negative included,
// rounded to three decimals.
func parseAttributeScalar(s string) (float64, bool) {
	body := strings.TrimPrefix(s, "-")
	if body == "" || ((body[0] < '0' || body[0] > '9') && body[0] != '.') {
		return 0, false
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || math.Abs(f) > maxScalarFloat {
		return 0, false
	}
	return math.Round(f*scalarUnit) / scalarUnit, true
}

func rangesToProto(rs Ranges) *mesos.Value_Ranges {
	out := make([]*mesos.Value_Range, len(rs))
	for i, x := range rs {
		out[i] = &mesos.Value_Range{Begin: proto.Uint64(x.Begin), End: proto.Uint64(x.End)}
	}
	return &mesos.Value_Ranges{Range: out}
}

// FormatAttributes renders attributes in the form ParseAttributes reads.
func FormatAttributes(attrs []*mesos.Attribute) string {
	var b strings.Builder
	for i, a := range attrs {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(a.GetName())
		b.WriteByte(':')
		b.WriteString(AttributeValue(a))
	}
	return b.String()
}

// AttributeValue renders the value of a as text: "r1", "3", "0.5",
// "[1-2]", "{a,b}".
func AttributeValue(a *mesos.Attribute) string {
	switch a.GetType() {
	case mesos.Value_SCALAR:
		return strconv.FormatFloat(a.GetScalar().GetValue(), 'f', -1, 64)
	case mesos.Value_RANGES:
		rs := make(Ranges, 0, len(a.GetRanges().GetRange()))
		for _, x := range a.GetRanges().GetRange() {
			rs = append(rs, Range{Begin: x.GetBegin(), End: x.GetEnd()})
		}
		return rs.String()
	case mesos.Value_SET:
		return "{" + strings.Join(a.GetSet().GetItem(), ",") + "}"
	case mesos.Value_TEXT:
		return a.GetText().GetValue()
	}
	return ""
}

// AttributeMap returns the attributes as name -> AttributeValue, the plain
// form that placement constraints match against.
func AttributeMap(attrs []*mesos.Attribute) map[string]string {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		m[a.GetName()] = AttributeValue(a)
	}
	return m
}
