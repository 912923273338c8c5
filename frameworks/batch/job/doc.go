// Package job holds the batch framework's job specs and schedules in Metronome's JSON form, with
// Agora's Chronos-style dependencies and Kubernetes-style parallelism/completions added: the
// types, their strict decoders (unknown fields are errors), their defaults and their validation.
// A decoder returns ErrMalformed (wrapped) for a body that is not JSON, and an *InvalidError
// listing every invalid field by JSON path ("/run/cpus", "/run/artifacts(0)/uri") for one that
// is; the API answers 400 and 422 respectively, the latter with the error itself as the body
// (it marshals to {"message":"Object is not valid","details":[...]}). The package is pure: no
// IO, no clock.
//
// Cron expressions are standard 5-field cron (minute hour day-of-month month day-of-week, with
// names, ranges, steps, lists, '?' and '*'), parsed by github.com/robfig/cron/v3, the form
// Metronome documents. @descriptors (@daily, @every 1h), a seconds field and CRON_TZ= prefixes
// are rejected, so that every accepted expression means the same to Metronome and to standard
// cron, and the time zone is only ever the schedule's timezone field. Time zones are IANA names,
// loaded from the Go runtime's embedded database (time/tzdata), so they mean the same on every
// machine; "Local" is rejected. Environment values are strings (Metronome's {"secret": ...}
// values are not supported) and are rejected with their path otherwise.
//
// Beyond Metronome's rules: cmd and args are exclusive (as Metronome documents); parallelism is
// at most completions (Kubernetes' Job semantics without its work-queue mode), both between 1
// and MaxCompletions; every seconds field is at most MaxSeconds, so no duration overflows; ids
// are at most MaxIDLength characters; artifact URIs are absolute URLs or absolute paths.
//
// Usage:
//
//	spec, err := job.DecodeSpec(body)
//	var inv *job.InvalidError
//	switch {
//	case errors.Is(err, job.ErrMalformed):
//		// 400
//	case errors.As(err, &inv):
//		// 422, body: json.Marshal(inv)
//	}
//	for _, c := range spec.Run.Placement.Constraints {
//		mc, _ := c.Parse() // a frameworks/marathon/constraints.Constraint for offer matching
//	}
//	sched, err := job.DecodeSchedule(body) // same errors; then schedule.Compile(*sched)
package job
