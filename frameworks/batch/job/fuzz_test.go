package job

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func FuzzDecodeSpec(f *testing.F) {
	for _, seed := range []string{
		base,
		`{"id":"a","run":{"docker":{"image":"i","parameters":[{"key":"k","value":"v"}]},"args":["x"]}}`,
		`{"id":"a.b","labels":{"k":"v"},"dependencies":["c"],"run":{"cmd":"x","cpus":0.25,"mem":1e3,"env":{"A":"b"},
			"artifacts":[{"uri":"http://h/p","extract":true}],"placement":{"constraints":[{"attribute":"r","operator":"LIKE","value":"a.*"}]},
			"restart":{"policy":"ON_FAILURE","activeDeadlineSeconds":3},"parallelism":2,"completions":3}}`,
		`{"id":"A","run":{"cpus":-1,"bogus":[]}}`,
		`[]`, `null`, `{`, `{"run":null}`, `{"labels":{},"run":{"env":{"\u0000":"x"}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := DecodeSpec(body)
		checkDecodeResult(t, body, s, err, func(b []byte) (any, error) { return DecodeSpec(b) })
	})
}

func FuzzDecodeSchedule(f *testing.F) {
	for _, seed := range []string{
		`{"id":"s","cron":"0 2 * * *"}`,
		`{"id":"s","cron":"*/5 1-5 ? JAN MON-FRI","timezone":"America/New_York","startingDeadlineSeconds":1,"concurrencyPolicy":"FORBID","enabled":false}`,
		`{"id":"s","cron":"@daily","timezone":"Local"}`,
		`{"id":"s","cron":"0 0 30 2 *"}`,
		`{"id":"s","cron":"CRON_TZ=UTC * * * * *"}`,
		`{}`, `1`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := DecodeSchedule(body)
		checkDecodeResult(t, body, s, err, func(b []byte) (any, error) { return DecodeSchedule(b) })
	})
}

// checkDecodeResult checks one decoder result: exactly one of value and error; an error is
// ErrMalformed or an *InvalidError with details; a value encodes, decodes again without error,
// and the second decode equals the first.
func checkDecodeResult[T any](t *testing.T, body []byte, v *T, err error, decode func([]byte) (any, error)) {
	t.Helper()
	if err != nil {
		if v != nil {
			t.Fatalf("got a value and an error: %v", err)
		}
		var inv *InvalidError
		switch {
		case errors.Is(err, ErrMalformed):
			if json.Valid(body) {
				t.Fatalf("valid JSON %q reported malformed: %v", body, err)
			}
		case errors.As(err, &inv):
			if len(inv.Details) == 0 {
				t.Fatalf("InvalidError without details for %q", body)
			}
			for _, d := range inv.Details {
				if d.Path == "" || d.Path[0] != '/' || len(d.Errors) == 0 {
					t.Fatalf("bad detail %+v", d)
				}
			}
			if _, err := json.Marshal(inv); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unclassified error %T: %v", err, err)
		}
		return
	}
	if !json.Valid(body) {
		t.Fatalf("invalid JSON %q accepted", body)
	}
	enc, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	again, err := decode(enc)
	if err != nil {
		t.Fatalf("re-decode of %s (from %q): %v", enc, body, err)
	}
	if !reflect.DeepEqual(again, any(v)) {
		t.Fatalf("unstable: %q decoded to %+v, encoded %s, decoded to %+v", body, v, enc, again)
	}
}
