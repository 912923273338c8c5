// Package scheduler holds the Mesos v1 scheduler API calls and events (generated from
// scheduler.proto), spoken on the master's POST /api/v1/scheduler.
package scheduler
