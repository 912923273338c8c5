// Package cgroups confines executor containers with Linux control groups (v1 or v2, through
// github.com/containerd/cgroups/v3): one cgroup <root>/<container_id> per container with a
// CPU share (and optionally a CFS quota) and a memory limit, the processes in it, their
// usage, OOM kills, and killing the whole tree when the container ends.
package cgroups
