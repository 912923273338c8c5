// Package constraints parses Marathon placement constraints
// (["hostname","UNIQUE"], ["rack","GROUP_BY","3"], ["zone","LIKE","us-.*"],
// UNLIKE, CLUSTER, MAX_PER, IS) with Marathon's validation messages, and
// decides, as a pure function of a candidate agent and the app's existing
// placements, whether a task may be placed there — with a reason string for
// why not, which the launch queue reports as the decline reason.
package constraints
