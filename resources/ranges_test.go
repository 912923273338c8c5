package resources_test

import (
	"math"
	"testing"

	"github.com/agoracluster/agora/resources"
)

func TestRanges(t *testing.T) {
	max := uint64(math.MaxUint64)
	tests := []struct {
		name string
		got  resources.Ranges
		want resources.Ranges
	}{
		{name: "NewRanges sorts and merges", got: resources.NewRanges(resources.Range{Begin: 10, End: 12}, resources.Range{Begin: 1, End: 3}, resources.Range{Begin: 4, End: 4}), want: resources.Ranges{{1, 4}, {10, 12}}},
		{name: "NewRanges drops inverted", got: resources.NewRanges(resources.Range{Begin: 5, End: 4}), want: nil},
		{name: "merge at max", got: resources.NewRanges(resources.Range{Begin: max - 1, End: max}, resources.Range{Begin: max, End: max}), want: resources.Ranges{{max - 1, max}}},
		{name: "Plus adjacent", got: resources.Ranges{{1, 2}}.Plus(resources.Ranges{{3, 4}}), want: resources.Ranges{{1, 4}}},
		{name: "Plus with max", got: resources.Ranges{{0, max}}.Plus(resources.Ranges{{3, 4}}), want: resources.Ranges{{0, max}}},
		{name: "Minus to max edge", got: resources.Ranges{{0, max}}.Minus(resources.Ranges{{0, max - 1}}), want: resources.Ranges{{max, max}}},
		{name: "Minus zero edge", got: resources.Ranges{{0, 10}}.Minus(resources.Ranges{{1, max}}), want: resources.Ranges{{0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestRangesSize(t *testing.T) {
	tests := []struct {
		in   resources.Ranges
		want uint64
	}{
		{nil, 0},
		{resources.Ranges{{5, 5}}, 1},
		{resources.Ranges{{31000, 32000}, {40000, 40009}}, 1011},
		{resources.Ranges{{0, math.MaxUint64}}, math.MaxUint64},
		{resources.Ranges{{0, math.MaxUint64 - 1}}, math.MaxUint64},
	}
	for _, tt := range tests {
		if got := tt.in.Size(); got != tt.want {
			t.Errorf("%v.Size() = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestRangesContainsValue(t *testing.T) {
	rs := resources.Ranges{{1, 3}, {10, 10}, {20, 30}}
	for v, want := range map[uint64]bool{0: false, 1: true, 3: true, 4: false, 10: true, 11: false, 25: true, 30: true, 31: false} {
		if got := rs.ContainsValue(v); got != want {
			t.Errorf("ContainsValue(%d) = %v, want %v", v, got, want)
		}
	}
	var vals []uint64
	for v := range rs.Values {
		vals = append(vals, v)
		if len(vals) == 5 {
			break
		}
	}
	if want := []uint64{1, 2, 3, 10, 20}; len(vals) != 5 || vals[3] != 10 || vals[4] != 20 {
		t.Errorf("Values = %v, want %v", vals, want)
	}
}
