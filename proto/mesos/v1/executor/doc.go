// Package executor holds the Mesos v1 executor API calls and events (generated from
// executor.proto), spoken on the agent's POST /api/v1/executor.
package executor
