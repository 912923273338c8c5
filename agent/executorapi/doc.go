// Package executorapi serves the Mesos v1 executor API (POST /api/v1/executor) on the
// agent: it decodes and validates executor calls, hands them to a narrow Backend (the
// agent's task bookkeeping), and streams the events of subscribed executors with
// heartbeats. It holds no agent state.
package executorapi
