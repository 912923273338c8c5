// Package taskproc runs a task's CommandInfo as a process the way Mesos's executors do: its
// environment (the executor's, MESOS_TASK_ID, MESOS_SANDBOX, the command's own variables),
// its own process group or session, the user it runs as, and the terminal state and message
// its exit status stands for ("Command exited with status 3"). Agora's command executor and
// default executor share it.
package taskproc
