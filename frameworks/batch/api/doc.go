// Package api is the batch framework's REST API, Metronome's /v1 with its shapes and status
// codes: jobs (embed=activeRuns|schedules|history|historySummary), schedules, runs and the
// stop action, plus /ping, /v1/info, /v1/leader, /metrics and a server-sent event stream of
// job and run changes (/v1/events). Handlers decode and validate the request (package job),
// call the narrow Backend interface (the framework's loop) and encode the answer; errors map
// to status codes in one place (writeError).
package api
