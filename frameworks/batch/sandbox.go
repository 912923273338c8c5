package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/frameworks/batch/run"
)

// sandboxReq asks where one task's stdout and stderr are.
type sandboxReq struct{ taskID, agentID string }

// sandboxFound is the answer: the agent's base URL and the task's sandbox directory.
type sandboxFound struct{ taskID, agentURL, dir string }

// sandboxes finds where tasks' stdout and stderr live, off the loop: the agent's URL from the
// master's /state (cached per agent) and the task's sandbox directory from the agent's /state
// (the executor's "directory"), one query per agent for all the tasks asked about meanwhile.
type sandboxes struct {
	b      *Batch
	client *http.Client
	mu     sync.Mutex
	q      []sandboxReq
	kick   chan struct{}
	agents map[string]string // agent id → base URL; used by run's goroutine only
}

func newSandboxes(b *Batch) *sandboxes {
	return &sandboxes{b: b, client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}},
		kick: make(chan struct{}, 1), agents: map[string]string{}}
}

func (s *sandboxes) push(r sandboxReq) {
	s.mu.Lock()
	s.q = append(s.q, r)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *sandboxes) run(ctx context.Context) {
	defer s.client.CloseIdleConnections()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		s.mu.Lock()
		q := s.q
		s.q = nil
		s.mu.Unlock()
		byAgent := map[string][]string{}
		for _, r := range q {
			byAgent[r.agentID] = append(byAgent[r.agentID], r.taskID)
		}
		var found []sandboxFound
		var asked []string
		for agentID, tasks := range byAgent {
			asked = append(asked, tasks...)
			f, err := s.resolve(ctx, agentID, tasks)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				s.b.log.Debug("find task sandboxes", zap.String("agent_id", agentID), zap.Error(err))
			}
			found = append(found, f...)
		}
		_ = s.b.do(ctx, func() { s.b.sandboxesFound(asked, found) })
	}
}

// resolve finds the sandboxes of tasks on one agent.
func (s *sandboxes) resolve(ctx context.Context, agentID string, tasks []string) ([]sandboxFound, error) {
	base, err := s.agentURL(ctx, agentID)
	if err != nil {
		return nil, err
	}
	var st struct {
		Frameworks []struct {
			ID                 string          `json:"id"`
			Executors          []executorState `json:"executors"`
			CompletedExecutors []executorState `json:"completed_executors"`
		} `json:"frameworks"`
	}
	if err := s.getJSON(ctx, base+"/state", &st); err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	fid := s.b.FrameworkID()
	for _, fw := range st.Frameworks {
		if fw.ID != fid {
			continue
		}
		for _, ex := range append(fw.Executors, fw.CompletedExecutors...) {
			for _, t := range ex.tasks() {
				dirs[t] = ex.Directory
			}
		}
	}
	var out []sandboxFound
	for _, id := range tasks {
		if d := dirs[id]; d != "" {
			out = append(out, sandboxFound{taskID: id, agentURL: base, dir: d})
		}
	}
	return out, nil
}

type executorState struct {
	ID             string                `json:"id"`
	Directory      string                `json:"directory"`
	Tasks          []struct{ ID string } `json:"tasks"`
	QueuedTasks    []struct{ ID string } `json:"queued_tasks"`
	CompletedTasks []struct{ ID string } `json:"completed_tasks"`
}

func (e executorState) tasks() []string {
	out := []string{e.ID} // the command executor's id is its task's
	for _, l := range [][]struct{ ID string }{e.Tasks, e.QueuedTasks, e.CompletedTasks} {
		for _, t := range l {
			out = append(out, t.ID)
		}
	}
	return out
}

// agentURL returns the agent's base URL from the masters' /state (cached).
func (s *sandboxes) agentURL(ctx context.Context, agentID string) (string, error) {
	if u, ok := s.agents[agentID]; ok {
		return u, nil
	}
	var lastErr error
	for _, m := range s.b.cfg.Masters {
		var st struct {
			Slaves []struct {
				ID       string `json:"id"`
				Hostname string `json:"hostname"`
				Port     int    `json:"port"`
			} `json:"slaves"`
		}
		base := m
		if !strings.Contains(base, "://") {
			base = "http://" + base
		}
		if err := s.getJSON(ctx, base+"/state", &st); err != nil {
			lastErr = err
			continue
		}
		for _, a := range st.Slaves {
			s.agents[a.ID] = "http://" + a.Hostname + ":" + strconv.Itoa(a.Port)
		}
		if u, ok := s.agents[agentID]; ok {
			return u, nil
		}
		lastErr = fmt.Errorf("agent %s not in the master's /state", agentID)
	}
	return "", lastErr
}

func (s *sandboxes) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// askSandbox asks once where a task's sandbox is; called on the loop.
func (b *Batch) askSandbox(t *run.Task) {
	if b.sandboxes == nil || t.Sandbox != "" || t.AgentID == "" || b.sandboxAsked[t.ID] {
		return
	}
	b.sandboxAsked[t.ID] = true
	b.sandboxes.push(sandboxReq{taskID: t.ID, agentID: t.AgentID})
}

// sandboxesFound records what the resolver found; called on the loop.
func (b *Batch) sandboxesFound(asked []string, found []sandboxFound) {
	for _, id := range asked {
		delete(b.sandboxAsked, id)
	}
	for _, f := range found {
		_, runID, ok := run.ParseTaskID(f.taskID)
		r := b.runs[runID]
		if !ok || r == nil {
			continue
		}
		if t := r.Task(f.taskID); t != nil {
			t.AgentURL, t.Sandbox = f.agentURL, f.dir
			b.persistRun(r)
		}
	}
}
