package mesos

// IsTerminal reports whether a task in this state will never run again (Mesos's
// isTerminalState): finished, failed, killed, error, lost, dropped, gone, gone by operator.
func (s TaskState) IsTerminal() bool {
	switch s {
	case TaskState_TASK_FINISHED, TaskState_TASK_FAILED, TaskState_TASK_KILLED,
		TaskState_TASK_ERROR, TaskState_TASK_LOST, TaskState_TASK_DROPPED,
		TaskState_TASK_GONE, TaskState_TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
