// Package client holds small clients for Agora's HTTP APIs: the master's and the agent's
// state and files endpoints, Marathon's /v2 and batch's /v1. The CLI uses them and so can
// other tools (DNS, load balancers). Every call takes a context; a reply outside 2xx is an
// *Error carrying the server's own message, so callers can print it as is.
package client
