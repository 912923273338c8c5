// Package docker runs Mesos tasks of ContainerInfo type DOCKER as Docker containers through the
// Docker Engine API, the way Mesos's docker executor does it: the per-task executor process
// creates, starts, watches and stops the task's container, so a container outlives an agent
// restart exactly like a process task does.
//
// ContainerConfig is the pure translation of a task (TaskInfo + sandbox + environment) into the
// Engine's create request. Runtime does the IO: image lookup and pull, create and start, copying
// the container's stdout and stderr into the sandbox, wait (exit code and OOM kill), stop with a
// grace period, exec (COMMAND health checks), re-adoption by id after an executor restart, and
// listing by agent id so the agent can remove orphans. Every container carries the labels
// agora.agent_id, agora.framework_id, agora.executor_id, agora.task_id and agora.container_id
// and is named agora-<container_id>.
package docker
