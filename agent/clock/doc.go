// Package clock is the agent's time source, injected into the shells whose decisions
// depend on time (the agent's loop and its timeouts, the sandbox collector), so that tests
// drive them with a fake (agent/clock/clocktest) or inside testing/synctest.
package clock
