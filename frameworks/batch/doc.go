// Package batch is the batch framework (`agora batch`): run-to-completion jobs with
// Metronome's REST API (/v1/jobs), cron schedules, retries and Chronos-style dependencies,
// on the SDK.
//
// The root package is the owner that wires the named packages together:
//
//	api (REST, decode → Backend → encode)      job (specs, validation)
//	        │ closures                            schedule (cron: what is due)
//	        ▼                                     deps (dependency graph)
//	  loop goroutine: jobs, schedules, runs ──►   run (one run's state machine)
//	        ▲ offers, updates     │ kills, wish for offers     retry (back-off)
//	  sdk.Scheduler ◄── outbox ◄──┘
//	        │ launch after writer flushed; acks after the writer wrote the update
//	        ▼
//	  writer ──► store.Store: jobs/<id>, schedules/<job>/<id>, runs/<job>/<run>, history/<job>
//
// One goroutine (the loop) owns all state; the API and the SDK hand it closures. Decisions
// come from the pure packages with `now` from the injected clock.
package batch
