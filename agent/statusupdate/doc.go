// Package statusupdate is the agent's status update manager as a pure core: one ordered
// stream of status updates per task, forwarded to the master one at a time, retried until
// acknowledged, and checkpointed before the executor is acknowledged.
//
// It does no IO, starts no goroutines and reads no clock: events go in through Update, Ack,
// Tick, Pause and Resume (time is an argument), and the decisions come out of Ready as a
// value that the caller carries out in order: append Persist to the task's checkpoint, then
// acknowledge AckExecutor to the executors, then Send to the master. Its behaviour follows
// the Mesos status update manager: the next update of a task is forwarded only after the
// previous one was acknowledged, duplicates (same uuid) are acknowledged to the executor but
// neither stored nor forwarded again, and unacknowledged updates are retried with an
// exponential back-off (10s doubling to 10min by default).
package statusupdate
