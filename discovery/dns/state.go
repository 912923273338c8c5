package dns

import (
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// State is the part of the master's /state document (Mesos's shape) that the records come
// from. Agent IPs are filled in by the Source (Agent.IP), so Records does no lookups.
type State struct {
	// Leader is the leading master's PID, "master@ip:port".
	Leader     string      `json:"leader"`
	Slaves     []Agent     `json:"slaves"`
	Frameworks []Framework `json:"frameworks"`
}

// Agent is one agent ("slave") of the state.
type Agent struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	// IP is the agent's address: Hostname when it is an IP, else what the Source resolved.
	IP string `json:"-"`
}

// Framework is one registered framework and its tasks.
type Framework struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Tasks []Task `json:"tasks"`
}

// Task is one task of a framework.
type Task struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	SlaveID   string         `json:"slave_id"`
	State     string         `json:"state"`
	Resources map[string]any `json:"resources"`
	Statuses  []TaskStatus   `json:"statuses"`
}

// TaskStatus is one status update of a task; Healthy is set when a health check reported.
type TaskStatus struct {
	State     string  `json:"state"`
	Timestamp float64 `json:"timestamp"`
	Healthy   *bool   `json:"healthy,omitempty"`
}

// DecodeState decodes a /state document.
func DecodeState(data []byte) (*State, error) {
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("dns: decode state: %w", err)
	}
	return &s, nil
}

// leaderAddr splits the leader's PID "master@ip:port" into its IP and port.
func (s *State) leaderAddr() (net.IP, uint16, bool) {
	_, hostport, ok := strings.Cut(s.Leader, "@")
	if !ok {
		return nil, 0, false
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, 0, false
	}
	ip := net.ParseIP(host)
	p, err := strconv.ParseUint(port, 10, 16)
	if ip == nil || err != nil {
		return nil, 0, false
	}
	return ip, uint16(p), true
}

// healthy reports whether t may be served: its latest health result (if any) is not false.
func (t *Task) healthy() bool {
	best := -1
	for i, st := range t.Statuses {
		if st.Healthy != nil && (best < 0 || st.Timestamp >= t.Statuses[best].Timestamp) {
			best = i
		}
	}
	return best < 0 || *t.Statuses[best].Healthy
}

// ports returns the task's ports resource ("[31000-31001, 31005-31005]", as the master
// renders ranges) as a list; malformed ranges are skipped.
func (t *Task) ports() []uint16 {
	s, _ := t.Resources["ports"].(string)
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var out []uint16
	for _, r := range strings.Split(s, ",") {
		lo, hi, ok := strings.Cut(strings.TrimSpace(r), "-")
		if !ok {
			hi = lo
		}
		a, err1 := strconv.ParseUint(strings.TrimSpace(lo), 10, 16)
		b, err2 := strconv.ParseUint(strings.TrimSpace(hi), 10, 16)
		if err1 != nil || err2 != nil || a > b || b-a > 1<<12 {
			continue
		}
		for p := a; p <= b; p++ {
			out = append(out, uint16(p))
		}
	}
	return out
}
