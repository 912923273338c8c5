// Package exechost is the executor host: one long-lived process per agent (`agora
// executor-host`) in which Agora's command executors run side by side, each on goroutines
// of its own, instead of one `agora executor` process per command task.
//
// Each hosted executor is the same command executor (agent/commandexec) that `agora
// executor` runs: it subscribes to the agent through the Mesos v1 executor API with its own
// MESOS_* environment, launches its task in a session of its own and reports and retries
// its status updates. What the host saves is the start of a Go process per task, which is
// what made launching a thousand tasks take ten seconds.
//
// Like an executor process, the host does not belong to the agent's process: it outlives a
// killed agent, its executors re-subscribe to the restarted agent, and the agent reattaches
// to the host and learns which executors ended meanwhile. The agent talks to the host over
// a unix socket beside its work dir (Address), HTTP with JSON bodies:
//
//	POST   /v1/containers               LaunchRequest   start an executor
//	POST   /v1/containers/{id}/kill                     end it at once (SIGKILL semantics)
//	DELETE /v1/containers/{id}                          forget an executor that ended
//	GET    /v1/events                                   RecordIO stream of Event (JSON)
//	POST   /v1/shutdown                                 kill every executor and exit
//
// The events stream starts with the state of every executor (RUNNING or EXITED), then
// SYNCED, then the changes as they happen. The host exits by itself once no executor runs
// and no agent has been connected for IdleTimeout.
package exechost

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
)

// LaunchRequest starts an executor in the host.
type LaunchRequest struct {
	// ContainerID is the agent's container id of the executor; unique within the host.
	ContainerID string `json:"container_id"`
	// Env is the executor's environment ("NAME=value"): the MESOS_* variables configure the
	// executor (commandexec.ConfigFromEnv), and the task inherits all of it.
	Env []string `json:"env"`
	// CgroupProcs are the cgroup.procs files of the container's cgroup; the task's pid is
	// written to each as soon as the task runs.
	CgroupProcs []string `json:"cgroup_procs,omitempty"`
}

// EventType says what an Event reports.
type EventType string

// The events of the stream.
const (
	// EventRunning: the executor runs; TaskPID is its task's pid once the task runs (the
	// task's session id), and the event comes again with it.
	EventRunning EventType = "RUNNING"
	// EventExited: the executor ended, with Status (a wait status as an executor process's
	// would be) and Message.
	EventExited EventType = "EXITED"
	// EventSynced ends the state of every executor that opens the stream.
	EventSynced EventType = "SYNCED"
)

// Event is one record of the events stream.
type Event struct {
	Type        EventType `json:"type"`
	ContainerID string    `json:"container_id,omitempty"`
	TaskPID     int       `json:"task_pid,omitempty"`
	Status      int       `json:"status,omitempty"`
	Message     string    `json:"message,omitempty"`
	// HostPID is the host's pid (in EventSynced).
	HostPID int `json:"host_pid,omitempty"`
}

// Address is the socket of the executor host of the agent with workDir:
// <work_dir>/executor-host.sock, or, where that path is too long for a unix socket, a socket
// named after the work dir in a directory of its own under the temporary directory. Never a
// name in the abstract namespace: any process of the host's user in the same network
// namespace can reach those, a container on the host network included, and the host
// starts processes as root. The host also checks its peers' uid (see Listen).
func Address(workDir string) string {
	if abs, err := filepath.Abs(workDir); err == nil {
		workDir = abs
	}
	workDir = filepath.Clean(workDir)
	if p := filepath.Join(workDir, "executor-host.sock"); len(p) <= maxSocketPath {
		return p
	}
	sum := sha256.Sum256([]byte(workDir))
	return filepath.Join(os.TempDir(), "agora-executor-host-"+hex.EncodeToString(sum[:10]), "sock")
}

// maxSocketPath is the longest path a unix socket can have (sun_path holds 108 bytes with
// the terminating NUL).
const maxSocketPath = 107
