package allocator

import (
	"math"

	"github.com/agoracluster/agora/resources"
)

// unreservedRole is the Mesos default role: resources that any role may use.
const unreservedRole = resources.Unreserved

// milli converts a scalar amount to thousandths, the resolution of resources
// scalars, so that sums of quantities never drift.
func milli(v float64) int64 { return int64(math.Round(v * 1000)) }

// scalarQ returns the scalar quantities of r, summed over roles, in thousandths.
func scalarQ(r resources.Resources) quantities {
	q := quantities{}
	for _, x := range r.All() {
		if x.Type == resources.ScalarType && x.Scalar > 0 {
			q[x.Name] += int64(x.Scalar)
		}
	}
	return q
}

// reservedRoles returns the roles (other than "*") that hold reservations in r,
// sorted, without duplicates.
func reservedRoles(r resources.Resources) []string {
	var roles []string
	seen := map[string]bool{}
	for _, x := range r.Reserved("").All() {
		if !seen[x.Role] {
			seen[x.Role] = true
			roles = append(roles, x.Role)
		}
	}
	return roles
}

// intersect returns the resources that a and b have in common.
func intersect(a, b resources.Resources) resources.Resources {
	return a.Minus(a.Minus(b))
}
