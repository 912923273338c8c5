// Package cors is the HTTP middleware behind --access_control_allow_origin: it lets pages from
// the configured origins (the master's web UI, above all) call an API from a browser. It adds
// Access-Control-Allow-Origin to the answers for an allowed Origin and answers CORS preflight
// requests (OPTIONS with Access-Control-Request-Method) itself; requests from other origins
// pass through unchanged, so the browser withholds the answer from the calling page. Pages may
// send an Authorization header (the web UI sends the credentials its user gave for an agent)
// and read a 401's WWW-Authenticate.
package cors
