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
//	        ▲ ◄── launcher: ACCEPTs once the writer wrote the launched tasks
//	        ▲ ◄── acker: non-terminal updates at once, terminal ones once written
//	  writer ──► store.Store: jobs/<id>, schedules/<job>:<id>, runs/<job>:<run>, history/<job>
//	  sandboxes: each task's agent URL and sandbox from the master's and agent's /state
//
// One goroutine (the loop) owns all state; the API and the SDK hand it closures. Decisions
// come from the pure packages with `now` from the injected clock. Changed runs are encoded
// once per flush (Config.FlushInterval, when the writer is idle, at most a tenth of the
// loop's time), not once per update.
//
// With --zk several instances share a ZooKeeper (RunHA, package frameworks/ha): each term
// of leadership is a new Batch on the fenced store in ZooKeeper; followers answer /ping and
// /v1/leader and proxy the rest to the leader (api.Follower).
package batch
