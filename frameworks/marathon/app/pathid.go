package app

import (
	"regexp"
	"strings"
	"sync"
)

// idSegmentPattern is Marathon's rule for one segment of a path id.
const idSegmentPattern = `^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$`

// idSegmentRE is compiled on first use: every process started from the agora binary (a
// thousand command executors on a busy agent) would pay for it at start otherwise.
var idSegmentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:` + idSegmentPattern + `)$`) })

// Marathon's messages for a bad path id.
var (
	MsgIDPattern  = "must fully match regular expression '" + idSegmentPattern + "'"
	MsgIDReserved = "must not end with any of the following reserved keywords: restart, tasks, versions"
	MsgIDEmpty    = "Path must contain at least one path element"
)

func splitID(id string) []string {
	var out []string
	for _, s := range strings.Split(id, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// CanonicalID resolves id against base (an absolute group id such as "/" or
// "/prod") the way Marathon's PathId.canonicalPath does: a relative id is
// appended to base, "." is dropped and ".." climbs one level; the result is
// absolute ("/group/app"), and "/" for the root.
func CanonicalID(id, base string) string {
	var parts []string
	if !strings.HasPrefix(id, "/") {
		parts = splitID(base)
	}
	parts = append(parts, splitID(id)...)
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		switch p {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, p)
		}
	}
	return "/" + strings.Join(out, "/")
}

// ParentID is the group that holds id ("/" for a top-level id).
func ParentID(id string) string {
	parts := splitID(id)
	if len(parts) <= 1 {
		return "/"
	}
	return "/" + strings.Join(parts[:len(parts)-1], "/")
}

// IDErrors returns Marathon's validation messages for a (raw, uncanonical)
// app id, or nil when it is valid.
func IDErrors(id string) []string {
	parts := splitID(id)
	var errs []string
	for _, p := range parts {
		if !idSegmentRE().MatchString(p) {
			errs = append(errs, MsgIDPattern)
			break
		}
	}
	if n := len(parts); n > 0 {
		switch parts[n-1] {
		case "restart", "tasks", "versions":
			errs = append(errs, MsgIDReserved)
		}
	}
	if len(splitID(CanonicalID(id, "/"))) == 0 {
		errs = append(errs, MsgIDEmpty)
	}
	return errs
}
