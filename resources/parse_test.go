package resources_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/agoracluster/agora/resources"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name        string
		text        string
		defaultRole string
		want        string // String() of the result
	}{
		{name: "empty", text: "", want: ""},
		{name: "only separators", text: " ; ;", want: ""},
		{name: "typical agent", text: "cpus:4;mem:8192;disk:20000;ports:[31000-32000]", want: "cpus:4;disk:20000;mem:8192;ports:[31000-32000]"},
		{name: "reserved entry", text: "cpus:4;cpus(web):2", want: "cpus:4;cpus(web):2"},
		{name: "explicit unreserved role", text: "cpus(*):4", want: "cpus:4"},
		{name: "default role", text: "cpus:4;mem(*):1", defaultRole: "web", want: "cpus(web):4;mem:1"},
		{name: "hierarchical role", text: "cpus(eng/web):1", want: "cpus(eng/web):1"},
		{name: "fraction", text: "cpus:0.5", want: "cpus:0.5"},
		{name: "rounded to three decimals", text: "cpus:0.12345", want: "cpus:0.123"},
		{name: "rounds half up", text: "cpus:0.0005", want: "cpus:0.001"},
		{name: "exponent", text: "mem:1e3", want: "mem:1000"},
		{name: "leading dot", text: "cpus:.25", want: "cpus:0.25"},
		{name: "zero dropped", text: "cpus:0;mem:1", want: "mem:1"},
		{name: "below precision dropped", text: "cpus:0.0001", want: ""},
		{name: "whitespace", text: "  cpus ( web ) : 2 ; ports : [ 1 - 2 , 5-6 ] ; zones:{ a , b }; ", want: "cpus(web):2;ports:[1-2,5-6];zones:{a,b}"},
		{name: "duplicate scalars add", text: "cpus:1;cpus:2.5", want: "cpus:3.5"},
		{name: "duplicate ranges unite", text: "ports:[1-5];ports:[3-8,20-20]", want: "ports:[1-8,20-20]"},
		{name: "duplicate sets unite", text: "disks:{a,b};disks:{b,c}", want: "disks:{a,b,c}"},
		{name: "same name different roles stay apart", text: "cpus(a):1;cpus(b):1;cpus:1", want: "cpus:1;cpus(a):1;cpus(b):1"},
		{name: "ranges sorted and merged", text: "ports:[10-20,1-3,4-5,15-25]", want: "ports:[1-5,10-25]"},
		{name: "single-value ranges", text: "ports:[80-80,443-443]", want: "ports:[80-80,443-443]"},
		{name: "empty ranges dropped", text: "ports:[]", want: ""},
		{name: "empty set dropped", text: "disks:{}", want: ""},
		{name: "set sorted and deduplicated", text: "disks:{c,a,c}", want: "disks:{a,c}"},
		{name: "custom resource name", text: "nvidia.com/gpu:2", want: "nvidia.com/gpu:2"},
		{name: "max port", text: "ports:[18446744073709551615-18446744073709551615]", want: "ports:[18446744073709551615-18446744073709551615]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resources.Parse(tt.text, tt.defaultRole)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.text, err)
			}
			if s := got.String(); s != tt.want {
				t.Fatalf("Parse(%q) = %q, want %q", tt.text, s, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name        string
		text        string
		defaultRole string
		want        string // the whole error message
	}{
		{name: "invalid scalar", text: "cpus:abc", want: `resources: "cpus:abc": invalid scalar value`},
		{name: "negative scalar", text: "mem:1;cpus:-1", want: `resources: "cpus:-1": negative scalar value`},
		{name: "NaN", text: "cpus:NaN", want: `resources: "cpus:NaN": invalid scalar value`},
		{name: "Inf", text: "cpus:Inf", want: `resources: "cpus:Inf": invalid scalar value`},
		{name: "overflowing exponent", text: "cpus:1e400", want: `resources: "cpus:1e400": invalid scalar value`},
		{name: "too large", text: "cpus:1.0001e15", want: `resources: "cpus:1.0001e15": scalar value too large`},
		{name: "hex float", text: "cpus:0x10", want: `resources: "cpus:0x10": invalid scalar value`},
		{name: "two dots", text: "cpus:1.2.3", want: `resources: "cpus:1.2.3": invalid scalar value`},
		{name: "missing value", text: "cpus:", want: `resources: "cpus:": missing value`},
		{name: "missing colon", text: "cpus", want: `resources: "cpus": missing ':' between name and value`},
		{name: "extra colon", text: "cpus:1:2", want: `resources: "cpus:1:2": extra ':' in value`},
		{name: "missing name", text: ":1", want: `resources: ":1": missing resource name`},
		{name: "space in name", text: "cp us:1", want: `resources: "cp us:1": invalid character ' ' in resource name`},
		{name: "unclosed role", text: "cpus(web:1", want: `resources: "cpus(web:1": role must be enclosed in ( ) after the name`},
		{name: "empty role", text: "cpus():1", want: `resources: "cpus():1": invalid role: empty role`},
		{name: "role with space", text: "cpus(w b):1", want: `resources: "cpus(w b):1": invalid role: invalid character ' ' in role "w b"`},
		{name: "role dot-dot", text: "cpus(a/..):1", want: `resources: "cpus(a/..):1": invalid role: role "a/.." has a ".." segment`},
		{name: "role leading dash", text: "cpus(-a):1", want: `resources: "cpus(-a):1": invalid role: role "-a" has a segment starting with '-'`},
		{name: "role empty segment", text: "cpus(a//b):1", want: `resources: "cpus(a//b):1": invalid role: role "a//b" has an empty segment`},
		{name: "range end below begin", text: "ports:[5-1]", want: `resources: "ports:[5-1]": invalid ranges value: range "5-1": end is below begin`},
		{name: "range without dash", text: "ports:[5]", want: `resources: "ports:[5]": invalid ranges value: range "5": want begin-end`},
		{name: "range negative", text: "ports:[-1-5]", want: `resources: "ports:[-1-5]": invalid ranges value: range "-1-5": invalid begin: empty number`},
		{name: "range not a number", text: "ports:[a-5]", want: `resources: "ports:[a-5]": invalid ranges value: range "a-5": invalid begin: "a" is not a non-negative integer`},
		{name: "range overflow", text: "ports:[1-18446744073709551616]", want: `resources: "ports:[1-18446744073709551616]": invalid ranges value: range "1-18446744073709551616": invalid end: "18446744073709551616" is out of range`},
		{name: "unclosed ranges", text: "ports:[1-2", want: `resources: "ports:[1-2": invalid ranges value: ranges "[1-2": must be enclosed in [ ]`},
		{name: "unclosed set", text: "disks:{a", want: `resources: "disks:{a": invalid set value: must be enclosed in { }`},
		{name: "empty set item", text: "disks:{a,,b}", want: `resources: "disks:{a,,b}": invalid set value: empty item`},
		{name: "conflicting types", text: "cpus:1;cpus(web):[1-2]", want: `resources: "cpus(web):[1-2]": RANGES value, but "cpus" is SCALAR elsewhere`},
		{name: "invalid default role", text: "cpus:1", defaultRole: "a b", want: `resources: default role "a b": invalid character ' ' in role "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resources.Parse(tt.text, tt.defaultRole)
			if err == nil {
				t.Fatalf("Parse(%q) = %v, want error", tt.text, got)
			}
			if err.Error() != tt.want {
				t.Fatalf("Parse(%q) error\n got: %s\nwant: %s", tt.text, err, tt.want)
			}
		})
	}
}

func TestParseErrorType(t *testing.T) {
	_, err := resources.Parse("mem:1;cpus:x", "")
	var pe *resources.ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v, want *ParseError", err)
	}
	if pe.Entry != "cpus:x" {
		t.Fatalf("Entry = %q, want %q", pe.Entry, "cpus:x")
	}
}

func TestScalarNoDrift(t *testing.T) {
	var sum resources.Resources
	tenth := resources.MustParse("cpus:0.1")
	for range 1000 {
		sum = sum.Plus(tenth)
	}
	if got := sum.Scalar("cpus"); got != 100 {
		t.Fatalf("1000 × 0.1 = %v, want exactly 100", got)
	}
	for range 1000 {
		sum = sum.Minus(tenth)
	}
	if !sum.IsEmpty() {
		t.Fatalf("after subtracting everything: %v, want empty", sum)
	}
}

func TestScalarString(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {1, "1"}, {0.5, "0.5"}, {0.05, "0.05"}, {1.001, "1.001"}, {12.3456, "12.346"}, {-1, "0"},
	}
	for _, tt := range tests {
		if got := resources.ScalarFromFloat(tt.in).String(); got != tt.want {
			t.Errorf("ScalarFromFloat(%v).String() = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParse checks that Parse never panics and that whatever parses
// survives a String/Parse round trip unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"cpus:4;mem:8192;disk:20000;ports:[31000-32000];cpus(web):2",
		"cpus(eng/web):0.5;disks:{a,b}",
		" ports : [ 1-2 , 3-4 ] ",
		"cpus:1e3;mem:.5",
		"x(y):{a b,c}",
		"cpus:abc",
		"ports:[5-1]",
		`[{"name":"disks","type":"SET","set":{"item":["a"]},"role":"web"}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r, err := resources.Parse(text, "")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "resources: ") {
				t.Fatalf("error without package prefix: %v", err)
			}
			return
		}
		s := r.String()
		again, err := resources.Parse(s, "")
		if err != nil {
			t.Fatalf("Parse(String()) of %q: rendered %q: %v", text, s, err)
		}
		if !again.Equal(r) {
			t.Fatalf("round trip of %q: %q became %q", text, s, again.String())
		}
		if !r.Contains(r) || !r.Minus(r).IsEmpty() {
			t.Fatalf("%q: Contains(self)/Minus(self) broken", s)
		}
	})
}

func TestScalarSaturates(t *testing.T) {
	r := resources.MustParse("cpus:1e15;cpus:1e15")
	if got := r.String(); got != "cpus:1000000000000000" {
		t.Fatalf("String() = %q, want saturated at 1e15", got)
	}
	if _, err := resources.Parse(r.String(), ""); err != nil {
		t.Fatalf("saturated value does not parse back: %v", err)
	}
}
