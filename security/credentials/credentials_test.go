package credentials

import (
	"strings"
	"testing"
)

func TestParseBothFormats(t *testing.T) {
	for _, in := range []string{
		`{"credentials": [{"principal": "ops", "secret": "s3cret"}, {"principal": "marathon", "secret": "m"}]}`,
		"# comment\nops s3cret\n\nmarathon   m\n",
	} {
		set, err := ParseSet([]byte(in))
		if err != nil {
			t.Fatalf("ParseSet(%q): %v", in, err)
		}
		if set.Len() != 2 || !set.Check("ops", "s3cret") || !set.Check("marathon", "m") {
			t.Errorf("ParseSet(%q): credentials not checked right", in)
		}
		if set.Check("ops", "s3cre") || set.Check("ops", "") || set.Check("nobody", "s3cret") || set.Check("", "") {
			t.Errorf("ParseSet(%q): a wrong secret or principal passed", in)
		}
	}
}

func TestParseRejectsBadFiles(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "holds no credential"},
		{`{"credentials": []}`, "holds no credential"},
		{`{"credentials": [{"principal": "a", "secret": "b", "extra": 1}]}`, `unknown field "extra"`},
		{`{"credentials": [{"principal": "a"}]}`, `principal "a": empty secret`},
		{`{"credentials": [{"principal": "a:b", "secret": "x"}]}`, "must not hold ':'"},
		{"a b\na c\n", `principal "a": listed twice`},
		{"a b c\n", "line 1: want \"principal secret\", got 3 fields"},
		{`{"credentials": [`, "JSON"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
	if c, err := ParseOne([]byte(`{"principal": "agent", "secret": "s"}`)); err != nil || c != (Credential{"agent", "s"}) {
		t.Errorf("ParseOne of Mesos's single credential = %+v, %v", c, err)
	}
	if _, err := ParseOne([]byte(`{"principal": "agent"}`)); err == nil || !strings.Contains(err.Error(), "non-empty") {
		t.Errorf("ParseOne without a secret = %v", err)
	}
	if _, err := ParseOne([]byte("a b\nc d\n")); err == nil || !strings.Contains(err.Error(), "want one credential") {
		t.Errorf("ParseOne of two = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"credentials": [{"principal": "ops", "secret": "s"}]}`))
	f.Add([]byte("ops secret\n# x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		creds, err := Parse(data)
		if err != nil {
			return
		}
		set := NewSet(creds)
		for _, c := range creds {
			if !set.Check(c.Principal, c.Secret) {
				t.Fatalf("parsed credential %q does not check", c.Principal)
			}
		}
	})
}
