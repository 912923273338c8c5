package launchqueue

import (
	"testing"
	"time"

	"github.com/agoracluster/agora/frameworks/marathon/app"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func TestBackoffGrowth(t *testing.T) {
	p := Policy{Backoff: time.Second, Factor: 2, MaxLaunchDelay: 10 * time.Second}
	k := Key{"/a", "v1"}
	b := NewBackoff()
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		now := t0.Add(time.Duration(i) * time.Minute)
		if got := b.Failed(k, p, now).Sub(now); got != w*time.Second {
			t.Fatalf("failure %d: delay %v, want %v", i+1, got, w*time.Second)
		}
	}
}

func TestBackoffMarathonDefaults(t *testing.T) {
	a, err := app.Parse([]byte(`{"id":"a","cmd":"x"}`), "/")
	if err != nil {
		t.Fatal(err)
	}
	p := PolicyOf(a)
	b := NewBackoff()
	k := Key{"/a", "v1"}
	var last time.Duration
	for i := 0; i < 3; i++ {
		last = b.Failed(k, p, t0).Sub(t0)
	}
	if want := time.Duration(float64(time.Second) * 1.15 * 1.15); last != want {
		t.Fatalf("third delay %v, want %v", last, want)
	}
}

func TestBackoffDelayed(t *testing.T) {
	p := Policy{Backoff: 3 * time.Second, Factor: 1.5, MaxLaunchDelay: time.Minute}
	k := Key{"/a", "v1"}
	tests := []struct {
		name    string
		setup   func(b *Backoff)
		at      time.Duration
		delayed bool
		info    Info
	}{
		{"no failure", func(*Backoff) {}, 0, false, Info{Overdue: true}},
		{"inside delay", func(b *Backoff) { b.Failed(k, p, t0) }, time.Second, true, Info{TimeLeftSeconds: 2}},
		{"rounds up", func(b *Backoff) { b.Failed(k, p, t0) }, 1500 * time.Millisecond, true, Info{TimeLeftSeconds: 2}},
		{"after delay", func(b *Backoff) { b.Failed(k, p, t0) }, 3 * time.Second, false, Info{Overdue: true}},
		{"reset by DELETE delay", func(b *Backoff) { b.Failed(k, p, t0); b.Reset("/a") }, time.Second, false, Info{Overdue: true}},
		{"new version is not delayed", func(b *Backoff) { b.Failed(Key{"/a", "v0"}, p, t0) }, time.Second, false, Info{Overdue: true}},
		{"other app unaffected by reset", func(b *Backoff) { b.Failed(k, p, t0); b.Reset("/b") }, time.Second, true, Info{TimeLeftSeconds: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBackoff()
			tt.setup(b)
			now := t0.Add(tt.at)
			_, delayed := b.Delayed(k, now)
			if delayed != tt.delayed {
				t.Fatalf("Delayed = %v, want %v", delayed, tt.delayed)
			}
			if got := b.Info(k, true, now); got != tt.info {
				t.Fatalf("Info = %+v, want %+v", got, tt.info)
			}
		})
	}
}

func TestBackoffExpireAndNextDeadline(t *testing.T) {
	p := Policy{Backoff: time.Second, Factor: 2, MaxLaunchDelay: 10 * time.Second}
	k := Key{"/a", "v1"}
	b := NewBackoff()
	b.Failed(k, p, t0)
	b.Failed(k, p, t0) // 2s
	if d, ok := b.NextDeadline(t0); !ok || !d.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("NextDeadline = %v %v", d, ok)
	}
	b.Expire(t0.Add(11 * time.Second)) // 9s after the deadline: kept
	if got := b.Failed(k, p, t0).Sub(t0); got != 4*time.Second {
		t.Fatalf("after kept delay: %v, want 4s", got)
	}
	b.Expire(t0.Add(15 * time.Second)) // 11s after the 4s deadline: dropped
	if got := b.Failed(k, p, t0).Sub(t0); got != time.Second {
		t.Fatalf("after expiry: %v, want 1s", got)
	}
	if _, ok := b.NextDeadline(t0.Add(time.Hour)); ok {
		t.Fatal("NextDeadline after all deadlines")
	}
}
