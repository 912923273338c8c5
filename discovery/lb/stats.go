package lb

import (
	"sync"
	"sync/atomic"
)

// Counters count the traffic of one frontend or one backend of a frontend.
type Counters struct {
	active   atomic.Int64
	total    atomic.Int64
	bytesIn  atomic.Int64 // from the client to the backend
	bytesOut atomic.Int64 // from the backend to the client
	errors   atomic.Int64
}

// CounterValues is a reading of Counters.
type CounterValues struct {
	Active   int64 `json:"active"`
	Total    int64 `json:"total"`
	BytesIn  int64 `json:"bytes_in"`
	BytesOut int64 `json:"bytes_out"`
	Errors   int64 `json:"errors"`
}

func (c *Counters) read() CounterValues {
	return CounterValues{Active: c.active.Load(), Total: c.total.Load(), BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(), Errors: c.errors.Load()}
}

// stats holds the counters of every frontend and backend the proxy has served, so that a
// backend keeps its counts across table updates.
type stats struct {
	mu       sync.Mutex
	counters map[statsKey]*Counters
}

type statsKey struct{ frontend, backend string } // backend "": the frontend's own

func newStats() *stats { return &stats{counters: map[statsKey]*Counters{}} }

// of returns the counters of frontend's backend (backend "": of the frontend itself).
func (s *stats) of(frontend, backend string) *Counters {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := statsKey{frontend, backend}
	c := s.counters[k]
	if c == nil {
		c = &Counters{}
		s.counters[k] = c
	}
	return c
}

// forget drops the counters of frontend's backends that are not in keep and have no
// active connection.
func (s *stats) forget(frontend string, keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, c := range s.counters {
		if k.frontend == frontend && k.backend != "" && !keep[k.backend] && c.active.Load() == 0 {
			delete(s.counters, k)
		}
	}
}

// FrontendStats is one frontend's reading for /_lb/stats: a service port ("tcp:10000") or
// a virtual host ("http:shop.example.com").
type FrontendStats struct {
	Name  string `json:"name"`
	AppID string `json:"app_id"`
	CounterValues
	Backends []BackendStats `json:"backends"`
}

// BackendStats is one backend's reading.
type BackendStats struct {
	TaskID string `json:"task_id"`
	Addr   string `json:"addr"`
	CounterValues
}
