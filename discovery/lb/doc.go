// Package lb is Agora's built-in load balancer (`agora lb`), a marathon-lb-style proxy fed by
// Marathon's event stream.
//
// The pipeline has three parts. The Feed (feed.go) reads Marathon's apps with their tasks
// (/v2/apps?embed=apps.tasks) on every (re)connection to /v2/events, then applies the events in
// order: a status_update_event that takes a task out of TASK_RUNNING (TASK_KILLING included)
// removes it at once, so a draining task gets no new connections; a task of an app without
// health checks that reaches TASK_RUNNING is added at once; anything else that may change the
// routing (api_post_event, deployment_*, health_status_changed_event, …) schedules a debounced
// re-read of the apps. Build, a pure function, turns the apps into a Table for one LB group:
// per service port the app's healthy tasks (host:port), and per virtual host
// (HAPROXY_{n}_VHOST) the tasks' port n. The Proxy (proxy.go, http.go) serves the Table: one
// TCP listener per service port (round robin or least connections) and one HTTP listener that
// routes by the Host header; a new Table swaps the backend sets in without touching
// established connections, and a backend that refuses a connection is skipped for the next.
// The admin server serves /_lb/stats, /metrics, /_lb/table and /health. Instead of the
// Proxy, an HAProxyWriter (haproxyfile.go) can take the Tables: RenderHAProxy, a pure
// function, turns each into an HAProxy configuration, written when it changes and followed
// by a reload command.
package lb
