package run

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
)

// AppendJSON appends r's JSON to buf and returns the extended buffer: byte for byte what
// json.Marshal(r) writes, without reflection. The state writer encodes every changed run
// once per flush, and a run of a thousand tasks is a thousand task records each time.
func (r *Run) AppendJSON(buf []byte) []byte {
	buf = slices.Grow(buf, 512+len(r.Tasks)*taskJSONSize) // one allocation, not a dozen copies
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, r.ID)
	buf = append(buf, `,"jobId":`...)
	buf = appendString(buf, r.JobID)
	buf = append(buf, `,"status":`...)
	buf = appendString(buf, string(r.Status))
	buf = append(buf, `,"createdAt":`...)
	buf = appendTime(buf, r.CreatedAt)
	buf = append(buf, `,"completedAt":`...)
	buf = appendTimePtr(buf, r.CompletedAt)
	buf = append(buf, `,"tasks":`...)
	if r.Tasks == nil {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '[')
		for i, t := range r.Tasks {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = t.appendJSON(buf)
		}
		buf = append(buf, ']')
	}
	p := r.Params
	buf = append(buf, `,"params":{"parallelism":`...)
	buf = strconv.AppendInt(buf, int64(p.Parallelism), 10)
	buf = append(buf, `,"completions":`...)
	buf = strconv.AppendInt(buf, int64(p.Completions), 10)
	buf = append(buf, `,"retryOnFailure":`...)
	buf = strconv.AppendBool(buf, p.RetryOnFailure)
	buf = append(buf, `,"activeDeadline":`...)
	buf = strconv.AppendInt(buf, int64(p.ActiveDeadline), 10)
	if p.RetryLimit != 0 {
		buf = append(buf, `,"retryLimit":`...)
		buf = strconv.AppendInt(buf, int64(p.RetryLimit), 10)
	}
	buf = append(buf, `},"failures":`...)
	buf = strconv.AppendInt(buf, int64(r.Failures), 10)
	if r.RetryAt != nil {
		buf = append(buf, `,"retryAt":`...)
		buf = appendTime(buf, *r.RetryAt)
	}
	if r.Reason != "" {
		buf = append(buf, `,"reason":`...)
		buf = appendString(buf, r.Reason)
	}
	if r.Trigger != "" {
		buf = append(buf, `,"trigger":`...)
		buf = appendString(buf, r.Trigger)
	}
	if r.FireTime != nil {
		buf = append(buf, `,"fireTime":`...)
		buf = appendTime(buf, *r.FireTime)
	}
	buf = append(buf, `,"seq":`...)
	buf = strconv.AppendInt(buf, int64(r.Seq), 10)
	if r.TaskPages != 0 {
		buf = append(buf, `,"taskPages":`...)
		buf = strconv.AppendInt(buf, int64(r.TaskPages), 10)
	}
	return append(buf, '}')
}

// PageSize is how many tasks one stored record of a run holds (about 320 KiB: a store such as
// ZooKeeper holds at most 1 MiB in one value).
const PageSize = 1000

// Records encodes r for the store: the header record, r with its first PageSize tasks and
// TaskPages set to the number of further pages, and those pages, each a JSON array of up to
// PageSize tasks in order. A run of PageSize tasks or fewer is one record, AppendJSON's.
func (r *Run) Records() (header []byte, pages [][]byte) {
	if len(r.Tasks) <= PageSize {
		return r.AppendJSON(nil), nil
	}
	h := Run{ID: r.ID, JobID: r.JobID, Status: r.Status, CreatedAt: r.CreatedAt, CompletedAt: r.CompletedAt,
		Tasks: r.Tasks[:PageSize], Params: r.Params, Failures: r.Failures, RetryAt: r.RetryAt, Reason: r.Reason,
		Trigger: r.Trigger, FireTime: r.FireTime, Seq: r.Seq}
	for rest := r.Tasks[PageSize:]; len(rest) > 0; rest = rest[min(PageSize, len(rest)):] {
		page := rest[:min(PageSize, len(rest))]
		buf := slices.Grow([]byte(nil), 2+len(page)*taskJSONSize)
		buf = append(buf, '[')
		for i, t := range page {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = t.appendJSON(buf)
		}
		pages = append(pages, append(buf, ']'))
	}
	h.TaskPages = len(pages)
	return h.AppendJSON(nil), pages
}

// PagesOf is how many pages beyond its header record a run of n tasks is stored in.
func PagesOf(n int) int { return max(0, (n-1)/PageSize) }

// taskJSONSize is about the length of a finished task's record, with the usual lengths of
// ids, hosts and times.
const taskJSONSize = 320

// appendJSON appends t's JSON: what json.Marshal(t) writes.
func (t *Task) appendJSON(buf []byte) []byte {
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, t.ID)
	buf = append(buf, `,"status":`...)
	buf = appendString(buf, t.Status)
	buf = append(buf, `,"startedAt":`...)
	buf = appendTime(buf, t.StartedAt)
	buf = append(buf, `,"completedAt":`...)
	buf = appendTimePtr(buf, t.CompletedAt)
	for _, f := range [...]struct{ name, value string }{
		{`,"agentId":`, t.AgentID}, {`,"host":`, t.Host}, {`,"agentUrl":`, t.AgentURL}, {`,"sandbox":`, t.Sandbox},
	} {
		if f.value != "" {
			buf = append(buf, f.name...)
			buf = appendString(buf, f.value)
		}
	}
	if t.ExitStatus != nil {
		buf = append(buf, `,"exitStatus":`...)
		buf = strconv.AppendInt(buf, int64(*t.ExitStatus), 10)
	}
	if t.Message != "" {
		buf = append(buf, `,"message":`...)
		buf = appendString(buf, t.Message)
	}
	return append(buf, '}')
}

// appendString appends s as a JSON string. Strings of printable ASCII without characters
// that need escaping (ids, states, hosts, URLs: nearly all) are copied as they are; any
// other goes through encoding/json, so that the escaping stays exactly its own.
func appendString(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(buf, b...)
		}
	}
	buf = append(buf, '"')
	buf = append(buf, s...)
	return append(buf, '"')
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with nanoseconds); a year
// outside 0-9999, which MarshalJSON refuses, goes through it to fail the same way.
func appendTime(buf []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		b, err := t.MarshalJSON()
		if err != nil {
			panic("run: encode time: " + err.Error()) // as json.Marshal of the run would fail
		}
		return append(buf, b...)
	}
	buf = append(buf, '"')
	buf = t.AppendFormat(buf, time.RFC3339Nano)
	return append(buf, '"')
}

func appendTimePtr(buf []byte, t *time.Time) []byte {
	if t == nil {
		return append(buf, "null"...)
	}
	return appendTime(buf, *t)
}
