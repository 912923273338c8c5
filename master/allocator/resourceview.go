package allocator

import (
	"math"
	"sort"

	"github.com/agoracluster/agora/resources"
)

// This file is the only place that looks inside resources.Resources beyond its
// arithmetic; the rest of the package uses the documented value API.

// unreservedRole is the Mesos default role: resources that any role may use.
const unreservedRole = "*"

// milli converts a scalar amount to thousandths, the resolution of resources
// scalars, so that sums of quantities never drift.
func milli(v float64) int64 { return int64(math.Round(v * 1000)) }

// scalarNames returns the names of the scalar resources in r, sorted, without
// duplicates.
func scalarNames(r resources.Resources) []string {
	var names []string
	seen := map[string]bool{}
	r.Filter(func(x resources.Resource) bool {
		if !seen[x.Name] {
			seen[x.Name] = true
			names = append(names, x.Name)
		}
		return false
	})
	out := names[:0]
	for _, n := range names {
		if r.Scalar(n) > 0 {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// reservedRoles returns the roles (other than "*") that hold reservations in r,
// sorted, without duplicates.
func reservedRoles(r resources.Resources) []string {
	var roles []string
	seen := map[string]bool{}
	r.Filter(func(x resources.Resource) bool {
		if x.Role != unreservedRole && x.Role != "" && !seen[x.Role] {
			seen[x.Role] = true
			roles = append(roles, x.Role)
		}
		return false
	})
	sort.Strings(roles)
	return roles
}

// intersect returns the resources that a and b have in common.
func intersect(a, b resources.Resources) resources.Resources {
	return a.Minus(a.Minus(b))
}
