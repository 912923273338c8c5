// Package stateapi serves the agent's read-only HTTP endpoints: /state (Mesos's field
// names), /health, /monitor/statistics (per-container usage) and /metrics (Prometheus).
// It renders what a narrow Source reads from the agent and holds no agent state.
package stateapi
