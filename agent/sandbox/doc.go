// Package sandbox is the layout of executor sandboxes under the agent's work dir (as
// Mesos's: slaves/<agent_id>/frameworks/<framework_id>/executors/<executor_id>/runs/<container_id>),
// their creation, and the confinement of paths served from them. It also holds the small
// directory and symlink operations that the sandboxes and the checkpoints share.
package sandbox
