// Package checkpoint writes and reads the agent's checkpoints under <work_dir>/meta: the
// agent info, framework infos, and one append-only run log per executor run with its
// executor, pid, tasks and status updates, enough for a restarted agent to rebuild every
// framework, executor, task and pending status update (see the layout in checkpoint.go).
package checkpoint
