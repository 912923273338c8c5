package duration

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"4s", 4 * time.Second},
		{"500ms", 500 * time.Millisecond},
		{"1h30m", 90 * time.Minute},
		{"4secs", 4 * time.Second},
		{"2mins", 2 * time.Minute},
		{"15mins", 15 * time.Minute},
		{"1.5hrs", 90 * time.Minute},
		{"3days", 72 * time.Hour},
		{"1weeks", 7 * 24 * time.Hour},
		{"10millisecs", 10 * time.Millisecond},
		{" 2secs ", 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"", "abc", "-4secs", "-4s", "4 parsecs", "secs", "mins"} {
		t.Run(in, func(t *testing.T) {
			if d, err := Parse(in); err == nil {
				t.Fatalf("Parse(%q) = %v, want an error", in, d)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0secs"},
		{15 * time.Minute, "15mins"},
		{2 * time.Second, "2secs"},
		{1500 * time.Millisecond, "1500ms"},
		{7 * 24 * time.Hour, "1weeks"},
		{3 * time.Nanosecond, "3ns"},
	}
	for _, tt := range tests {
		if got := Format(tt.in); got != tt.want {
			t.Errorf("Format(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseFormat(f *testing.F) {
	for _, s := range []string{"4secs", "2mins", "1h", "500ms", "1.5hrs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("Parse(%q) = %v, negative", s, d)
		}
		back, err := Parse(Format(d))
		if err != nil || back != d {
			t.Fatalf("Parse(Format(%v)) = %v, %v", d, back, err)
		}
	})
}
