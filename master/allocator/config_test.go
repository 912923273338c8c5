package allocator

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseMinAllocatable(t *testing.T) {
	tests := []struct {
		text    string
		want    []Quantities
		wantErr string
	}{
		{text: "", want: nil},
		{text: "cpus:0.01|mem:32", want: DefaultConfig().MinAllocatable},
		{text: "cpus:1;mem:128 | disk:10", want: []Quantities{{"cpus": 1, "mem": 128}, {"disk": 10}}},
		{text: "cpus", wantErr: `"cpus": want name:amount`},
		{text: "cpus:-1", wantErr: "amount must be a number >= 0"},
		{text: "cpus:x", wantErr: "amount must be a number >= 0"},
		{text: "cpus:1;cpus:2", wantErr: "cpus given twice"},
		{text: "cpus:1|", wantErr: "alternative 2: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseMinAllocatable(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMinAllocatable(%q) error = %v, want %q", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseMinAllocatable(%q) = %v, %v; want %v", tt.text, got, err, tt.want)
			}
		})
	}
}

// FuzzParseMinAllocatable: whatever parses is valid and survives a round trip.
func FuzzParseMinAllocatable(f *testing.F) {
	for _, s := range []string{"", "cpus:0.01|mem:32", "cpus:1;mem:2|disk:3", "a:1e3", "|", "x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		qs, err := ParseMinAllocatable(text)
		if err != nil {
			return
		}
		if err := (Config{MinAllocatable: qs}).Validate(); err != nil {
			t.Fatalf("parsed %q into an invalid config: %v", text, err)
		}
		parts := make([]string, len(qs))
		for i, q := range qs {
			parts[i] = q.String()
		}
		again, err := ParseMinAllocatable(strings.Join(parts, "|"))
		if err != nil || !reflect.DeepEqual(again, qs) {
			t.Fatalf("round trip of %q: %v, %v; want %v", text, again, err, qs)
		}
	})
}

func TestParseWeights(t *testing.T) {
	tests := []struct {
		text    string
		want    map[string]float64
		wantErr string
	}{
		{text: "", want: nil},
		{text: "eng=2.5,ops=1", want: map[string]float64{"eng": 2.5, "ops": 1}},
		{text: " eng/web=3 , * = 0.5", want: map[string]float64{"eng/web": 3, "*": 0.5}},
		{text: "eng", wantErr: `"eng": want role=weight`},
		{text: "eng=x", wantErr: "weight is not a number"},
		{text: "eng=0", wantErr: "weight must be a finite number > 0"},
		{text: "eng=-1", wantErr: "weight must be a finite number > 0"},
		{text: "eng=NaN", wantErr: "weight must be a finite number > 0"},
		{text: "eng=+Inf", wantErr: "weight must be a finite number > 0"},
		{text: "eng=1,eng=2", wantErr: `role "eng" given twice`},
		{text: ".=1", wantErr: "invalid role"},
		{text: "eng/..=1", wantErr: "invalid role"},
		{text: "-eng=1", wantErr: "invalid role"},
		{text: "e ng=1", wantErr: "invalid role"},
		{text: "eng//web=1", wantErr: "invalid role"},
		{text: "=1", wantErr: "invalid role"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseWeights(tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseWeights(%q) error = %v, want %q", tt.text, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseWeights(%q) = %v, %v; want %v", tt.text, got, err, tt.want)
			}
		})
	}
}

func TestConfigValidateWeights(t *testing.T) {
	c := DefaultConfig()
	c.Weights = map[string]float64{"eng": 0, "a/./b": 1}
	err := c.Validate()
	for _, want := range []string{`role "eng": 0`, "invalid role"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

// FuzzParseWeights: whatever parses is a valid configuration.
func FuzzParseWeights(f *testing.F) {
	for _, s := range []string{"", "eng=2.5,ops=1", "a/b=1", "=", ",", "x=1e308"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		w, err := ParseWeights(text)
		if err != nil {
			return
		}
		if err := (Config{Weights: w}).Validate(); err != nil {
			t.Fatalf("parsed %q into an invalid config: %v", text, err)
		}
	})
}
