// Package executorclient is the executor's side of the Mesos v1 executor API: it posts calls
// to the agent's /api/v1/executor and reads the SUBSCRIBE call's RecordIO event stream.
// Agora's command executor and default executor share it.
package executorclient
