// Package proc reads what the agent needs to know about host processes from /proc: the
// process list, a process's state and start time (which tells a recycled pid from the
// process that was checkpointed), and a process's environment.
package proc
