// Package ui is the master's web UI: static HTML, CSS and JavaScript embedded in the binary
// and served under /ui/ (with / redirecting there). There is no JavaScript build step: the
// ES modules in assets/ are what the browser runs, and nothing is fetched from outside the
// cluster.
//
// The page (assets/app.js) subscribes to the operator API (POST /api/v1 SUBSCRIBE, JSON
// events in RecordIO read with fetch() streaming, recordio.js and stream.js), folds the events
// into its copy of the cluster's state (state.js), and redraws the current view at most once
// per animation frame (views.js); tables draw one page of 100 rows with a filter (table.js).
// When the stream ends it subscribes again; when its master no longer leads it moves to the
// leader. Sandboxes are read from the agents' /files API and Marathon's apps and batch's jobs
// from their REST APIs (frameworkapi.js), on other origins: those servers must allow the
// master's origin (--access_control_allow_origin, package cors). An agent that wants
// credentials gets them from a login form in the page, kept in sessionStorage by agent
// origin and sent as an Authorization header (agentauth.js).
package ui
