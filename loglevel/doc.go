// Package loglevel changes a running process's log verbosity for a while, as Mesos's
// /logging/toggle endpoint and the operator API's SET_LOGGING_LEVEL do. Levels are Mesos's
// (glog's) verbosity: 0 logs what --logging_level says, 1 and more log debug lines too; after
// the duration the process goes back to --logging_level. The master and the agent share one
// Toggle, made by cmd/agora from the logger's level.
package loglevel
