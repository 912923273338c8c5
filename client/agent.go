package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/agoracluster/agora/agent/stateapi"
)

// Agent is a client of an agent's /state and files endpoints.
type Agent struct{ base }

// NewAgent returns a client of the agent at rawURL; hc nil means http.DefaultClient.
func NewAgent(rawURL string, hc *http.Client) (*Agent, error) {
	b, err := newBase("agent", rawURL, hc)
	if err != nil {
		return nil, err
	}
	return &Agent{b}, nil
}

// AgentState is the agent's /state document (the agent's own type for it).
type AgentState = stateapi.State

// State returns the agent's /state.
func (a *Agent) State(ctx context.Context) (AgentState, error) {
	var out AgentState
	err := a.do(ctx, http.MethodGet, "/state", nil, &out)
	return out, err
}

// ExecutorStatistics is one entry of the agent's /monitor/statistics (Mesos's shape).
type ExecutorStatistics = stateapi.ExecutorStatistics

// Statistics returns the usage of every running executor with a cgroup
// (/monitor/statistics).
func (a *Agent) Statistics(ctx context.Context) ([]ExecutorStatistics, error) {
	var out []ExecutorStatistics
	err := a.do(ctx, http.MethodGet, "/monitor/statistics", nil, &out)
	return out, err
}

// ErrNoSandbox is returned by Sandbox for a task the agent has no executor of.
var ErrNoSandbox = errors.New("no sandbox")

// Sandbox returns the sandbox directory of the executor that runs (or ran) task taskID of
// framework frameworkID on the agent whose state is st.
func Sandbox(st AgentState, frameworkID, taskID string) (string, error) {
	for _, fws := range [][]stateapi.FrameworkState{st.Frameworks, st.CompletedFrameworks} {
		for _, f := range fws {
			if f.ID != frameworkID {
				continue
			}
			for _, exs := range [][]stateapi.ExecutorState{f.Executors, f.CompletedExecutors} {
				for _, e := range exs {
					for _, ts := range [][]stateapi.TaskState{e.Tasks, e.QueuedTasks, e.CompletedTasks} {
						for _, t := range ts {
							if t.ID == taskID {
								return e.Directory, nil
							}
						}
					}
				}
			}
		}
	}
	return "", fmt.Errorf("agent %s: %w for task %s", st.ID, ErrNoSandbox, taskID)
}

// Chunk is a piece of a file read through /files/read.
type Chunk struct {
	Data   string `json:"data"`
	Offset int64  `json:"offset"`
}

// ReadFile reads up to length bytes (-1: as much as the agent answers) of the sandbox
// file at path from offset; offset -1 answers the file's size as Offset, with no data.
func (a *Agent) ReadFile(ctx context.Context, path string, offset, length int64) (Chunk, error) {
	q := url.Values{"path": {path}, "offset": {strconv.FormatInt(offset, 10)}, "length": {strconv.FormatInt(length, 10)}}
	var out Chunk
	err := a.do(ctx, http.MethodGet, "/files/read?"+q.Encode(), nil, &out)
	return out, err
}
