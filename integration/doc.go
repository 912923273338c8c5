// Package integration holds Agora's end-to-end tests: real agora processes on loopback,
// driven through their public APIs. Run them with `make test` (or `make test-integration`).
package integration
