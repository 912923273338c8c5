// Package agent holds the Mesos v1 operator API of the agent (generated from agent.proto): the
// calls and responses spoken on the agent's POST /api/v1.
package agent
