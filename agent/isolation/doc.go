// Package isolation confines executor containers in cgroups (agent/cgroups): it creates a
// container's cgroup with the CPU and memory limits of its executor and tasks, puts the
// executor in it, reports memory limitations and usage, re-attaches to the cgroups of
// recovered containers and removes those of ended ones. A nil *Isolator (cgroups unusable
// or disabled) does nothing, so callers need not check.
package isolation
