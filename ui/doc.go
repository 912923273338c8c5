// Package ui is the master's web UI: static HTML, CSS and JavaScript embedded in the binary
// and served under /ui/ (with / redirecting there). The page loads the cluster's state from
// the operator API's SUBSCRIBE stream (POST /api/v1, JSON in RecordIO), keeps it current from
// the stream's events, and reads sandboxes from the agents' /files API. Nothing is fetched
// from outside the cluster, and there is no JavaScript build step: the files in assets/ are
// what the browser runs.
package ui
