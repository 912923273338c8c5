package election

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultPrefix is the name prefix of Mesos's master znodes.
const DefaultPrefix = "json.info_"

// ErrStopped is returned by calls on a withdrawn Contender or a closed
// Detector.
var ErrStopped = errors.New("election: stopped")

// Config is what contenders and detectors of one election share.
type Config struct {
	// Path is the znode under which contenders create their znodes
	// ("/agora"); it is created when missing.
	Path string
	// Prefix is the name prefix of the contenders' znodes; ZooKeeper
	// appends a 10-digit sequence number.
	Prefix string
}

// DefaultConfig returns a Config for path with Mesos's prefix.
func DefaultConfig(path string) Config { return Config{Path: path, Prefix: DefaultPrefix} }

// Validate returns every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Path, "/") || c.Path == "/" || strings.HasSuffix(c.Path, "/") || strings.Contains(c.Path, "//") {
		errs = append(errs, fmt.Errorf("election: path %q: want an absolute znode path such as /agora", c.Path))
	}
	if c.Prefix == "" || strings.Contains(c.Prefix, "/") {
		errs = append(errs, fmt.Errorf("election: prefix %q: want a non-empty name without '/'", c.Prefix))
	}
	return errors.Join(errs...)
}

// candidate is a contender's znode.
type candidate struct {
	name string // without the path
	seq  int64
}

// candidates returns the children that are contenders' znodes (prefix and
// a decimal sequence number), lowest sequence first.
func (c Config) candidates(children []string) []candidate {
	var out []candidate
	for _, name := range children {
		digits, ok := strings.CutPrefix(name, c.Prefix)
		if !ok || digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
			continue
		}
		seq, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, candidate{name: name, seq: seq})
	}
	slices.SortFunc(out, func(a, b candidate) int {
		if a.seq != b.seq {
			return cmp.Compare(a.seq, b.seq)
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

func (c Config) node(name string) string { return c.Path + "/" + name }
