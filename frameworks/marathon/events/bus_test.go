package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newBus(t *testing.T, mod func(*Config)) *Bus {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return t0 }
	if mod != nil {
		mod(&cfg)
	}
	b, err := NewBus(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// drain returns the types of the messages waiting in s, without blocking.
func drain(s *Subscription) []string {
	var out []string
	for {
		select {
		case m, ok := <-s.C():
			if !ok {
				return append(out, "<closed>")
			}
			out = append(out, m.Type)
		default:
			return out
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	err := Config{BufferSize: 0, KeepAlive: -1, WriteTimeout: -1}.Validate()
	for _, want := range []string{"BufferSize", "KeepAlive", "WriteTimeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want a problem with %s", err, want)
		}
	}
}

func TestBusFilters(t *testing.T) {
	tests := []struct {
		name   string
		filter []string
		want   []string
	}{
		{"no filter gets all", nil, []string{TypeAppTerminated, TypeStatusUpdate, TypeAppTerminated}},
		{"one type", []string{TypeStatusUpdate}, []string{TypeStatusUpdate}},
		{"two types", []string{TypeStatusUpdate, TypeAppTerminated}, []string{TypeAppTerminated, TypeStatusUpdate, TypeAppTerminated}},
		{"unknown type matches nothing", []string{"no_such_event"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBus(t, nil)
			s, err := b.Subscribe(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			b.Publish(NewAppTerminated("/a", t0))
			b.Publish(NewStatusUpdate("S", "t", "TASK_RUNNING", "", "/a", "h", nil, nil, "v", t0))
			b.Publish(NewAppTerminated("/b", t0))
			got := drain(s)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBusDropsSlowSubscriberOnly(t *testing.T) {
	b := newBus(t, func(c *Config) { c.BufferSize = 2 })
	slow, _ := b.Subscribe(nil)
	fast, _ := b.Subscribe(nil)
	for i := 0; i < 3; i++ {
		b.Publish(NewAppTerminated("/a", t0))
		<-fast.C() // fast keeps up
	}
	if got := drain(slow); strings.Join(got, ",") != "app_terminated_event,app_terminated_event,<closed>" {
		t.Fatalf("slow subscriber got %v", got)
	}
	if !errors.Is(slow.Err(), ErrSlowConsumer) {
		t.Fatalf("slow.Err() = %v", slow.Err())
	}
	if fast.Err() != nil || b.Subscribers() != 1 {
		t.Fatalf("fast subscriber affected: err=%v subscribers=%d", fast.Err(), b.Subscribers())
	}
	b.Publish(NewAppTerminated("/a", t0))
	if got := drain(fast); len(got) != 1 {
		t.Fatalf("fast got %v after the drop", got)
	}
}

func TestBusCloseAndUnsubscribe(t *testing.T) {
	b := newBus(t, nil)
	s1, _ := b.Subscribe(nil)
	s2, _ := b.Subscribe(nil)
	s1.Close()
	s1.Close() // idempotent
	if got := drain(s1); len(got) != 1 || got[0] != "<closed>" || s1.Err() != nil {
		t.Fatalf("closed subscription: %v err=%v", got, s1.Err())
	}
	b.Close()
	if got := drain(s2); len(got) != 1 || got[0] != "<closed>" || !errors.Is(s2.Err(), ErrClosed) {
		t.Fatalf("bus close: %v err=%v", got, s2.Err())
	}
	if _, err := b.Subscribe(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close: %v", err)
	}
	b.Publish(NewAppTerminated("/a", t0)) // no panic on a closed bus
	b.Close()
}

// unencodable fails to marshal: the bus must only encode events that
// someone wants.
type unencodable struct{ C chan int }

func (unencodable) Type() string { return "weird_event" }

func TestBusEncodesOnlyWantedEvents(t *testing.T) {
	b := newBus(t, nil)
	s, _ := b.Subscribe([]string{TypeAppTerminated})
	b.Publish(unencodable{}) // not wanted: never encoded, nothing logged
	b.Publish(NewAppTerminated("/a", t0))
	m := <-s.C()
	if m.Type != TypeAppTerminated || !strings.Contains(string(m.Data), `"appId":"/a"`) {
		t.Fatalf("message = %s %s", m.Type, m.Data)
	}
	all, _ := b.Subscribe(nil)
	b.Publish(unencodable{}) // wanted but fails: dropped, subscription stays
	if got := drain(all); len(got) != 0 || all.Err() != nil {
		t.Fatalf("unencodable event delivered: %v %v", got, all.Err())
	}
}
