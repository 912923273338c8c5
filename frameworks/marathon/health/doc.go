// Package health holds Marathon's health checks as the framework sees them: MesosCheck
// translates an app's health check into the Mesos one that the executor runs next to the
// task, and Status records the results that come back in status updates (alive, first and
// last success, consecutive failures), with the time passed in.
package health
