// Package httpapi is the master's HTTP surface: the Mesos v1 scheduler API
// (POST /api/v1/scheduler), the master side of Agora's agent protocol
// (POST /api/v1/agent), the Mesos v1 operator API (POST /api/v1, operator.go,
// with its SUBSCRIBE stream in operator_stream.go), the /state document, the
// legacy JSON endpoints Mesos tools read (legacy.go, mesosmetrics.go) and
// /metrics.
//
// A handler only decodes and validates its request (with the ledger's call
// validators), runs the call on the ledger through the Loop that owns it, and
// encodes the answer: 202 for a call, or a RecordIO event stream for a
// subscription. Errors become status codes in one place (writeError). A
// subscriber's stream is an httpStream: the ledger's Sink for that subscriber,
// which queues encoded events without blocking the loop and is written out, with
// heartbeats, by the subscription's own handler goroutine; a subscriber that stops
// reading is dropped rather than allowed to hold the master's memory.
//
//	POST /api/v1/scheduler ─ decode, ledger.ValidateSchedulerCall ─▶ Loop.Do(l.SchedulerCall) ─▶ 202 / error
//	POST /api/v1/agent     ─ decode, ledger.ValidateAgentCall     ─▶ Loop.Do(l.AgentCall)     ─▶ 202 / error
//	SUBSCRIBE              ─ Loop.Do(l.Subscribe…(httpStream)) ─▶ 200, then the stream until it ends
//	GET /state             ─ Loop.Do(l.Snapshot, render) ─▶ JSON encoded off the loop
//	POST /api/v1           ─ decode, validate ─▶ Loop.Do(ledger.GetState(l.Snapshot()) / l.UpdateQuotas …) ─▶ 200 Response
//	  SUBSCRIBE            ─ Loop.Do(WatchOperator, SUBSCRIBED queued) ─▶ stream; the loop hands each step's
//	                         Effects.OperatorEvents to PublishOperatorEvents
package httpapi
