// Package taskinfo turns an app definition into what the framework sends to Mesos for one
// task: task ids in Marathon's form (<app id with "_">.<uuid>), the environment Marathon
// gives a task (PORT0, MARATHON_APP_ID, labels, …), the host ports a task asks for, and the
// TaskInfo itself (command, Docker container, kill policy, health check). It is pure.
package taskinfo
