package resources

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Range is an inclusive range of integers [Begin, End].
type Range struct {
	Begin, End uint64
}

// Ranges is a set of integers held as ranges. Every Ranges returned by this
// package is normalized: sorted, non-overlapping, non-adjacent ([1-2,3-4]
// becomes [1-4]) and without ranges whose End is below their Begin.
type Ranges []Range

// NewRanges returns the normalized union of rs. Ranges with End < Begin
// are dropped.
func NewRanges(rs ...Range) Ranges {
	out := make(Ranges, 0, len(rs))
	for _, r := range rs {
		if r.End >= r.Begin {
			out = append(out, r)
		}
	}
	return out.normalize()
}

// normalize sorts and coalesces rs in place; all ranges must be valid.
func (rs Ranges) normalize() Ranges {
	if len(rs) == 0 {
		return nil
	}
	if !rs.isNormalized() {
		slices.SortFunc(rs, func(a, b Range) int { return cmp.Compare(a.Begin, b.Begin) })
	}
	out := rs[:1]
	for _, r := range rs[1:] {
		last := &out[len(out)-1]
		if last.End == math.MaxUint64 || r.Begin <= last.End+1 {
			last.End = max(last.End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (rs Ranges) isNormalized() bool {
	for i := 1; i < len(rs); i++ {
		if rs[i-1].End == math.MaxUint64 || rs[i].Begin <= rs[i-1].End+1 {
			return false
		}
	}
	return true
}

// ParseRanges parses the Mesos text form "[31000-32000,33000-33000]".
// Whitespace around items is allowed; overlapping or adjacent ranges are
// merged; a range whose end is below its begin is an error.
func ParseRanges(text string) (Ranges, error) {
	s := strings.TrimSpace(text)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, fmt.Errorf("ranges %q: must be enclosed in [ ]", text)
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	if s == "" {
		return nil, nil
	}
	n := strings.Count(s, ",") + 1
	out := make(Ranges, 0, n)
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		lo, hi, ok := strings.Cut(item, "-")
		if !ok {
			return nil, fmt.Errorf("range %q: want begin-end", item)
		}
		b, err := parseUint(lo)
		if err != nil {
			return nil, fmt.Errorf("range %q: invalid begin: %w", item, err)
		}
		e, err := parseUint(hi)
		if err != nil {
			return nil, fmt.Errorf("range %q: invalid end: %w", item, err)
		}
		if e < b {
			return nil, fmt.Errorf("range %q: end is below begin", item)
		}
		out = append(out, Range{Begin: b, End: e})
	}
	return out.normalize(), nil
}

func parseUint(s string) (uint64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a non-negative integer", s)
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range", s)
	}
	return v, nil
}

// String renders rs as "[1-2,5-9]".
func (rs Ranges) String() string { return string(rs.appendText(nil)) }

func (rs Ranges) appendText(b []byte) []byte {
	b = append(b, '[')
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, r.Begin, 10)
		b = append(b, '-')
		b = strconv.AppendUint(b, r.End, 10)
	}
	return append(b, ']')
}

// Size returns how many integers rs holds, saturating at math.MaxUint64.
func (rs Ranges) Size() uint64 {
	var n uint64
	for _, r := range rs {
		d := r.End - r.Begin
		if d == math.MaxUint64 || n+d+1 < n {
			return math.MaxUint64
		}
		n += d + 1
	}
	return n
}

// IsEmpty reports whether rs holds no integers.
func (rs Ranges) IsEmpty() bool { return len(rs) == 0 }

// Equal reports whether rs and o hold the same integers (both normalized).
func (rs Ranges) Equal(o Ranges) bool { return slices.Equal(rs, o) }

// ContainsValue reports whether v is in rs.
func (rs Ranges) ContainsValue(v uint64) bool {
	i, _ := slices.BinarySearchFunc(rs, v, func(r Range, v uint64) int {
		switch {
		case r.End < v:
			return -1
		case r.Begin > v:
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i].Begin <= v && v <= rs[i].End
}

// Values calls yield for every integer in rs in ascending order until it
// returns false.
func (rs Ranges) Values(yield func(uint64) bool) {
	for _, r := range rs {
		for v := r.Begin; ; v++ {
			if !yield(v) {
				return
			}
			if v == r.End {
				break
			}
		}
	}
}

// Plus returns the union of rs and o.
func (rs Ranges) Plus(o Ranges) Ranges {
	switch {
	case len(o) == 0:
		return rs
	case len(rs) == 0:
		return o
	}
	out := make(Ranges, 0, len(rs)+len(o))
	i, j := 0, 0
	for i < len(rs) || j < len(o) {
		var next Range
		if j >= len(o) || (i < len(rs) && rs[i].Begin <= o[j].Begin) {
			next = rs[i]
			i++
		} else {
			next = o[j]
			j++
		}
		if n := len(out); n > 0 && (out[n-1].End == math.MaxUint64 || next.Begin <= out[n-1].End+1) {
			out[n-1].End = max(out[n-1].End, next.End)
			continue
		}
		out = append(out, next)
	}
	return out
}

// Minus returns the integers of rs that are not in o.
func (rs Ranges) Minus(o Ranges) Ranges {
	if len(rs) == 0 || len(o) == 0 || !rs.overlaps(o) {
		return rs
	}
	out := make(Ranges, 0, len(rs)+1)
	j := 0
	for _, r := range rs {
		cur := r
		// Skip subtrahends entirely below cur.
		for j < len(o) && o[j].End < cur.Begin {
			j++
		}
		k := j
		keep := true
		for k < len(o) && o[k].Begin <= cur.End {
			s := o[k]
			if s.Begin > cur.Begin {
				out = append(out, Range{Begin: cur.Begin, End: s.Begin - 1})
			}
			if s.End >= cur.End {
				keep = false
				break
			}
			cur.Begin = s.End + 1
			k++
		}
		if keep {
			out = append(out, cur)
		}
		j = k
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// overlaps reports whether rs and o share an integer.
func (rs Ranges) overlaps(o Ranges) bool {
	i, j := 0, 0
	for i < len(rs) && j < len(o) {
		switch {
		case rs[i].End < o[j].Begin:
			i++
		case o[j].End < rs[i].Begin:
			j++
		default:
			return true
		}
	}
	return false
}

// Contains reports whether every integer of o is in rs.
func (rs Ranges) Contains(o Ranges) bool {
	i := 0
	for _, r := range o {
		for i < len(rs) && rs[i].End < r.Begin {
			i++
		}
		if i >= len(rs) || rs[i].Begin > r.Begin || rs[i].End < r.End {
			return false
		}
	}
	return true
}
