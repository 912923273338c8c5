// Package sdk is the Go library for writing Agora (and Mesos v1) framework schedulers.
//
// A Scheduler subscribes to the master's scheduler API (POST /api/v1/scheduler, RecordIO
// stream, protobuf or JSON), follows 307 redirects across the configured masters (or, given a
// zk:// master, detects the leading master in ZooKeeper and re-subscribes when it changes), keeps the
// Mesos-Stream-Id, re-subscribes with capped exponential back-off and jitter under the framework
// id it was given, watches heartbeats, acknowledges status updates once the Handler has seen
// them, reconciles after every (re)subscription (explicitly, repeated with back-off until every
// known task got an update, then implicitly) and sends SUPPRESS/REVIVE only when the
// framework's wish for offers changes. The Handler receives the events; calls (Launch, Accept,
// Decline, Kill, ...) are safe from any goroutine.
//
//	s, err := sdk.NewScheduler(cfg, handler, log)
//	err = s.Run(ctx) // blocks until ctx is done or the framework is torn down or removed
package sdk
