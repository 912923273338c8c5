// Package launchqueue holds the pure parts of Marathon's launch queue: the
// launch back-off per app version (backoffSeconds × backoffFactor^n, capped
// at maxLaunchDelaySeconds, reset by a new version or by
// DELETE /v2/queue/{id}/delay) with time passed in, and the assignment of
// cluster-unique service ports from 10000–20000 to apps that ask for port 0; and Entry,
// one app's waiting launches with the statistics of the offers that came meanwhile.
// Values here are owned by the framework's single loop goroutine and are not
// safe for concurrent use.
package launchqueue
