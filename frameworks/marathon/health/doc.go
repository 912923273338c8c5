// Package health holds Marathon's health checks as the framework sees them. An app's
// Mesos check (MESOS_HTTP, MESOS_HTTPS, MESOS_TCP, COMMAND; at most one) runs in the
// executor: MesosCheck translates it into the TaskInfo's, and Status records the results
// that come back in status updates. Its HTTP, HTTPS and TCP checks the framework runs
// itself, as legacy Marathon does: Schedule (pure) says which probes are due at a given
// time, Prober runs them, and Evaluate records a result with Marathon's grace period and
// maxConsecutiveFailures rules.
package health
