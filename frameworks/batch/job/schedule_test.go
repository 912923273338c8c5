package job

import (
	"reflect"
	"testing"
)

func TestDecodeScheduleDefaults(t *testing.T) {
	s, err := DecodeSchedule([]byte(`{"id":"nightly","cron":"0 2 * * *"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Schedule{ID: "nightly", Cron: "0 2 * * *", Timezone: "UTC", StartingDeadlineSeconds: 900,
		ConcurrencyPolicy: ConcurrencyAllow, Enabled: true}
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got %+v, want %+v", *s, want)
	}
	assertRoundTrip(t, s)
}

func TestDecodeScheduleFull(t *testing.T) {
	s, err := DecodeSchedule([]byte(`{"id":"every-5","cron":"*/5 9-17 * JAN-JUN MON-FRI","timezone":"America/New_York",
		"startingDeadlineSeconds":60,"concurrencyPolicy":"FORBID","enabled":false}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Schedule{ID: "every-5", Cron: "*/5 9-17 * JAN-JUN MON-FRI", Timezone: "America/New_York",
		StartingDeadlineSeconds: 60, ConcurrencyPolicy: ConcurrencyForbid, Enabled: false}
	if !reflect.DeepEqual(*s, want) {
		t.Fatalf("got %+v, want %+v", *s, want)
	}
	assertRoundTrip(t, s)
}

func TestDecodeScheduleInvalid(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string
	}{
		{"unknown field", `{"id":"s","cron":"* * * * *","nextRunAt":"x"}`, map[string]string{"/nextRunAt": "unknown field"}},
		{"missing id", `{"cron":"* * * * *"}`, map[string]string{"/id": "must not be empty"}},
		{"bad id", `{"id":"S_1","cron":"* * * * *"}`, map[string]string{"/id": "dotted lowercase"}},
		{"missing cron", `{"id":"s"}`, map[string]string{"/cron": "must not be empty"}},
		{"cron of 6 fields", `{"id":"s","cron":"0 * * * * *"}`, map[string]string{"/cron": "got 6 fields, expected 5"}},
		{"cron of 4 fields", `{"id":"s","cron":"* * * *"}`, map[string]string{"/cron": "got 4 fields, expected 5"}},
		{"cron descriptor", `{"id":"s","cron":"@daily"}`, map[string]string{"/cron": "descriptors are not supported"}},
		{"cron @every", `{"id":"s","cron":"@every 1h"}`, map[string]string{"/cron": "descriptors are not supported"}},
		{"cron with TZ prefix", `{"id":"s","cron":"CRON_TZ=Europe/Berlin 0 2 * * *"}`, map[string]string{"/cron": "timezone field"}},
		{"cron minute out of range", `{"id":"s","cron":"60 * * * *"}`, map[string]string{"/cron": "above maximum"}},
		{"cron garbage", `{"id":"s","cron":"a b c d e"}`, map[string]string{"/cron": "failed to parse"}},
		{"cron that never fires", `{"id":"s","cron":"0 0 30 2 *"}`, map[string]string{"/cron": "matches no date"}},
		{"cron not a string", `{"id":"s","cron":5}`, map[string]string{"/cron": "expected a string"}},
		{"unknown time zone", `{"id":"s","cron":"* * * * *","timezone":"Mars/Olympus"}`, map[string]string{"/timezone": "not a known IANA time zone"}},
		{"Local time zone", `{"id":"s","cron":"* * * * *","timezone":"Local"}`, map[string]string{"/timezone": "not an IANA time zone name"}},
		{"empty time zone", `{"id":"s","cron":"* * * * *","timezone":""}`, map[string]string{"/timezone": "must not be empty"}},
		{"time zone path", `{"id":"s","cron":"* * * * *","timezone":"../../etc/passwd"}`, map[string]string{"/timezone": "not a known"}},
		{"zero starting deadline", `{"id":"s","cron":"* * * * *","startingDeadlineSeconds":0}`, map[string]string{"/startingDeadlineSeconds": "expected between 1 and"}},
		{"negative starting deadline", `{"id":"s","cron":"* * * * *","startingDeadlineSeconds":-1}`, map[string]string{"/startingDeadlineSeconds": "got -1"}},
		{"unknown concurrency policy", `{"id":"s","cron":"* * * * *","concurrencyPolicy":"REPLACE"}`, map[string]string{"/concurrencyPolicy": `got "REPLACE", expected one of (ALLOW, FORBID)`}},
		{"enabled not a boolean", `{"id":"s","cron":"* * * * *","enabled":"yes"}`, map[string]string{"/enabled": "expected a boolean"}},
		{"every problem at once", `{"id":"","cron":"@hourly","timezone":"X","startingDeadlineSeconds":0,"concurrencyPolicy":"x"}`, map[string]string{
			"/id": "empty", "/cron": "descriptors", "/timezone": "IANA", "/startingDeadlineSeconds": "between", "/concurrencyPolicy": "one of",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := DecodeSchedule([]byte(tt.body))
			assertInvalid(t, s, err, tt.want)
		})
	}
}

func TestParseCronValid(t *testing.T) {
	for _, expr := range []string{
		"* * * * *", "0 0 * * *", "*/15 * * * *", "0 9-17/2 * * MON-FRI", "0 0 1,15 * *", "30 4 ? * SUN",
		"0 0 29 2 *", "5 4 * DEC 0", " 0 2 * * * ", "0 0 31 * *",
	} {
		t.Run(expr, func(t *testing.T) {
			if _, err := ParseCron(expr); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestLoadTimezone(t *testing.T) {
	for _, name := range []string{"UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		loc, err := LoadTimezone(name)
		if err != nil || loc.String() != name {
			t.Errorf("LoadTimezone(%q) = %v, %v", name, loc, err)
		}
	}
}
