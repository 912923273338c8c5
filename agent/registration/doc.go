// Package registration is the agent's connection to the master over the agent protocol:
// it subscribes (SUBSCRIBE with everything the agent runs, following 307 redirects from a
// non-leading master), re-subscribes with back-off when the stream ends or falls silent,
// sends heartbeats, and posts the agent's calls from a queue, holding back what must not be
// lost while disconnected. Which master to subscribe to comes from a MasterDetector: Static
// for --master host:port, a leader detector for an HA cluster.
package registration
