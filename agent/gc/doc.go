// Package gc is the agent's sandbox garbage collection (Mesos's --gc_delay,
// --gc_disk_headroom and --disk_watch_interval): a pure policy that says which finished
// sandboxes are due at a time and disk usage, and the Collector, the shell that holds the
// schedule, wakes up on an injected clock, has the agent claim what is due and deletes it.
package gc
