// Package api is Marathon's REST API: /v2/apps, /v2/tasks, /v2/deployments, /v2/queue,
// /v2/groups, /v2/events, /v2/info, /v2/leader, /ping and /metrics, with Marathon 1.x's
// paths, query parameters, bodies and status codes. Handlers decode and check a request,
// then run one function on the framework loop (Framework.Do) that calls the loop's Tx —
// a command, or reads through its View — and renders the answer in the same turn, so
// that a response always shows one consistent state. Errors map to status codes in one
// place (errorReply). Rendered app definitions and tasks are cached per app version and
// task revision, since GET /v2/apps is the hottest read.
package api
