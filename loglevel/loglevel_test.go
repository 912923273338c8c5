package loglevel

import (
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

func TestSetLogsDebugForAWhileThenReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		level := zap.NewAtomicLevelAt(zapcore.InfoLevel)
		tg := New(level)
		defer tg.Stop()
		if tg.Level() != 0 {
			t.Fatalf("Level = %d at info, want 0", tg.Level())
		}
		if err := tg.Set(1, time.Minute); err != nil {
			t.Fatal(err)
		}
		if tg.Level() != 1 || level.Level() != zapcore.DebugLevel {
			t.Fatalf("after Set(1): Level %d, zap level %s", tg.Level(), level.Level())
		}
		time.Sleep(59 * time.Second)
		synctest.Wait()
		if tg.Level() != 1 {
			t.Fatal("the level went back before its duration")
		}
		// A second toggle replaces the first one's duration.
		if err := tg.Set(2, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if tg.Level() != 1 {
			t.Fatal("the first toggle's duration ended the second")
		}
		time.Sleep(9 * time.Minute)
		synctest.Wait()
		if tg.Level() != 0 || level.Level() != zapcore.InfoLevel {
			t.Fatalf("after the duration: Level %d, zap level %s, want info again", tg.Level(), level.Level())
		}
	})
}

func TestSetZeroIsTheStartingLevel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		level := zap.NewAtomicLevelAt(zapcore.DebugLevel)
		tg := New(level)
		defer tg.Stop()
		if err := tg.Set(0, time.Second); err != nil {
			t.Fatal(err)
		}
		if level.Level() != zapcore.DebugLevel {
			t.Fatalf("Set(0) on a debug logger: %s, want debug (--logging_level)", level.Level())
		}
		if err := tg.Set(1, 0); err == nil {
			t.Fatal("Set with no duration: no error")
		}
	})
}

func TestParseQuery(t *testing.T) {
	tests := []struct {
		query   string
		level   uint32
		d       time.Duration
		wantErr string
	}{
		{"level=1&duration=30secs", 1, 30 * time.Second, ""},
		{"level=0&duration=5m", 0, 5 * time.Minute, ""},
		{"", 0, 0, "no level and duration"},
		{"level=1", 0, 0, "Expecting 'duration=value'"},
		{"duration=1secs", 0, 0, "Expecting 'level=value'"},
		{"level=-1&duration=1secs", 0, 0, "Invalid level '-1'"},
		{"level=x&duration=1secs", 0, 0, "Invalid level 'x'"},
		{"level=1&duration=soon", 0, 0, "Invalid duration 'soon'"},
		{"level=1&duration=0secs", 0, 0, "must be positive"},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		level, d, err := ParseQuery(q)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseQuery(%q) = %v, want an error containing %q", tt.query, err, tt.wantErr)
			}
			continue
		}
		if err != nil || level != tt.level || d != tt.d {
			t.Errorf("ParseQuery(%q) = %d, %s, %v", tt.query, level, d, err)
		}
	}
}
