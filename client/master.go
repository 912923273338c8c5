package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/election"
	"github.com/agoracluster/agora/zookeeper"
)

// Master is a client of the master's JSON endpoints.
type Master struct{ base }

// NewMaster returns a client of the master at rawURL (http://host:port or host:port); hc nil
// means http.DefaultClient. A zk:// address is resolved first with ResolveMaster.
func NewMaster(rawURL string, hc *http.Client) (*Master, error) {
	b, err := newBase("master", rawURL, hc)
	if err != nil {
		return nil, err
	}
	return &Master{b}, nil
}

// ResolveMaster turns a --master value into the leading master's "host:port": a zk:// URL
// is looked up once in ZooKeeper (the elected master under its path); anything else is
// returned as is (the first of a comma-separated list).
func ResolveMaster(ctx context.Context, addr string, log *zap.Logger) (string, error) {
	if !strings.HasPrefix(addr, "zk://") {
		first, _, _ := strings.Cut(addr, ",")
		return strings.TrimSpace(first), nil
	}
	u, err := zookeeper.ParseURL(addr)
	if err != nil {
		return "", fmt.Errorf("master: %w", err)
	}
	sess, err := zookeeper.Connect(ctx, u, zookeeper.DefaultConfig(), log)
	if err != nil {
		return "", fmt.Errorf("master: %w", err)
	}
	defer sess.Close()
	obs, err := election.LookupMaster(ctx, sess, u.Path)
	if err != nil {
		return "", fmt.Errorf("master: %w", err)
	}
	if obs.Err != nil {
		return "", fmt.Errorf("master: %s: %w", addr, obs.Err)
	}
	hostPort, err := election.MasterAddress(obs.Leader)
	if err != nil {
		return "", fmt.Errorf("master: %w", err)
	}
	return hostPort, nil
}

// Resources are the scalar resources of a state reply.
type Resources struct {
	CPUs float64 `json:"cpus"`
	Mem  float64 `json:"mem"`
	Disk float64 `json:"disk"`
	GPUs float64 `json:"gpus"`
}

// MasterState is the part of the master's /state the CLI reads.
type MasterState struct {
	ID         string           `json:"id"`
	Hostname   string           `json:"hostname"`
	Leader     string           `json:"leader"`
	Agents     []AgentSummary   `json:"slaves"`
	Frameworks []FrameworkState `json:"frameworks"`
}

// AgentSummary is an agent of the master's /state.
type AgentSummary struct {
	ID            string            `json:"id"`
	PID           string            `json:"pid"`
	Hostname      string            `json:"hostname"`
	Port          int               `json:"port"`
	Resources     Resources         `json:"resources"`
	UsedResources Resources         `json:"used_resources"`
	Attributes    map[string]string `json:"attributes,omitempty"`
	Active        bool              `json:"active"`
	State         string            `json:"state,omitempty"`
}

// Addr is the "host:port" of the agent's HTTP server: the address of its PID
// ("slave(1)@10.0.0.1:5051"), else hostname and port.
func (a AgentSummary) Addr() string {
	if _, hp, ok := strings.Cut(a.PID, "@"); ok && hp != "" {
		return hp
	}
	return net.JoinHostPort(a.Hostname, strconv.Itoa(a.Port))
}

// FrameworkState is a framework of the master's /state.
type FrameworkState struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	User           string    `json:"user"`
	Roles          []string  `json:"roles,omitempty"`
	Active         bool      `json:"active"`
	Connected      bool      `json:"connected"`
	Hostname       string    `json:"hostname,omitempty"`
	WebuiURL       string    `json:"webui_url,omitempty"`
	UsedResources  Resources `json:"used_resources"`
	Tasks          []Task    `json:"tasks"`
	CompletedTasks []Task    `json:"completed_tasks,omitempty"`
}

// Task is a task of the master's /state.
type Task struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	FrameworkID string    `json:"framework_id"`
	ExecutorID  string    `json:"executor_id"`
	AgentID     string    `json:"slave_id"`
	State       string    `json:"state"`
	Resources   Resources `json:"resources"`
}

// State returns the master's /state.
func (m *Master) State(ctx context.Context) (MasterState, error) {
	var out MasterState
	err := m.do(ctx, http.MethodGet, "/state", nil, &out)
	return out, err
}

// Agents returns the master's registered agents (/slaves), lighter than State.
func (m *Master) Agents(ctx context.Context) ([]AgentSummary, error) {
	var out struct {
		Slaves []AgentSummary `json:"slaves"`
	}
	err := m.do(ctx, http.MethodGet, "/slaves", nil, &out)
	return out.Slaves, err
}

// ErrTaskNotFound is returned by FindTask for a task the master does not know.
var ErrTaskNotFound = errors.New("task not found")

// FindTask looks a task up by id (or by a unique prefix of it) among the running and
// completed tasks of every framework.
func (s MasterState) FindTask(id string) (Task, error) {
	var matches []Task
	for _, f := range s.Frameworks {
		for _, list := range [][]Task{f.Tasks, f.CompletedTasks} {
			for _, t := range list {
				if t.ID == id {
					return t, nil
				}
				if strings.HasPrefix(t.ID, id) {
					matches = append(matches, t)
				}
			}
		}
	}
	switch len(matches) {
	case 0:
		return Task{}, fmt.Errorf("master: %w: %s", ErrTaskNotFound, id)
	case 1:
		return matches[0], nil
	default:
		return Task{}, fmt.Errorf("master: task id %q is ambiguous: %d tasks start with it", id, len(matches))
	}
}

// Agent returns the agent of the state with the given id.
func (s MasterState) Agent(id string) (AgentSummary, bool) {
	for _, a := range s.Agents {
		if a.ID == id {
			return a, true
		}
	}
	return AgentSummary{}, false
}
