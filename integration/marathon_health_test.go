package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

type mHealth struct {
	Alive               bool    `json:"alive"`
	ConsecutiveFailures int     `json:"consecutiveFailures"`
	FirstSuccess        *string `json:"firstSuccess"`
	LastSuccess         *string `json:"lastSuccess"`
	LastFailure         *string `json:"lastFailure"`
	LastFailureCause    *string `json:"lastFailureCause"`
	InstanceID          string  `json:"instanceId"`
}

type mHealthApp struct {
	TasksHealthy int `json:"tasksHealthy"`
	Deployments  []struct{ ID string }
	Tasks        []struct {
		ID                 string    `json:"id"`
		State              string    `json:"state"`
		HealthCheckResults []mHealth `json:"healthCheckResults"`
	} `json:"tasks"`
}

func (m marathonClient) healthApp(id string) (mHealthApp, error) {
	code, b := m.do(http.MethodGet, "/v2/apps"+id, "")
	if code != http.StatusOK {
		return mHealthApp{}, fmt.Errorf("GET app %s: %d %s", id, code, b)
	}
	var out struct{ App mHealthApp }
	err := json.Unmarshal(b, &out)
	return out.App, err
}

// TestMarathonEveryHealthCheck: tasks serve HTTP (python3 -m http.server); an app's HTTP
// and TCP checks run from Marathon, its MESOS_HTTP check in the executor, and every one of
// them is reported in healthCheckResults. An app with a check that keeps failing (a path
// that answers 404) has its tasks killed after maxConsecutiveFailures and replaced.
func TestMarathonEveryHealthCheck(t *testing.T) {
	py := python3(t)
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--hostname", "127.0.0.1"}})
	_, mc := startMarathon(t, c)
	serve := `"cmd":"exec ` + py + ` -m http.server $PORT0 --bind 127.0.0.1","portDefinitions":[{"port":0}]`
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/hc/ok","cpus":0.1,"mem":32,"instances":2,`+serve+`,
		"healthChecks":[
			{"protocol":"HTTP","path":"/","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":1,"maxConsecutiveFailures":3},
			{"protocol":"TCP","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":1,"maxConsecutiveFailures":3},
			{"protocol":"MESOS_HTTP","path":"/","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":1,"delaySeconds":0}]}`,
		http.StatusCreated, nil)
	poll.Eventually(t, 60*time.Second, func() error {
		a, err := mc.healthApp("/hc/ok")
		if err != nil {
			return err
		}
		if a.TasksHealthy != 2 || len(a.Deployments) != 0 || len(a.Tasks) != 2 {
			return fmt.Errorf("/hc/ok: %d healthy, %d tasks, deployments %v", a.TasksHealthy, len(a.Tasks), a.Deployments)
		}
		for _, tk := range a.Tasks {
			if len(tk.HealthCheckResults) != 3 {
				return fmt.Errorf("task %s: health results %+v; want one per check", tk.ID, tk.HealthCheckResults)
			}
			for _, r := range tk.HealthCheckResults {
				if !r.Alive || r.FirstSuccess == nil || r.LastSuccess == nil || r.InstanceID != tk.ID {
					return fmt.Errorf("task %s: health result %+v", tk.ID, r)
				}
			}
		}
		return nil
	})

	mc.must(http.MethodPost, "/v2/apps", `{"id":"/hc/bad","cpus":0.1,"mem":32,"instances":1,`+serve+`,
		"healthChecks":[
			{"protocol":"HTTP","path":"/","portIndex":0,"gracePeriodSeconds":30,"intervalSeconds":1,"timeoutSeconds":1},
			{"protocol":"HTTP","path":"/missing","portIndex":0,"gracePeriodSeconds":0,"intervalSeconds":1,"timeoutSeconds":1,"maxConsecutiveFailures":3}]}`,
		http.StatusCreated, nil)
	var first string
	var seenCause bool
	poll.Eventually(t, 60*time.Second, func() error {
		a, err := mc.healthApp("/hc/bad")
		if err != nil {
			return err
		}
		if a.TasksHealthy != 0 {
			return fmt.Errorf("/hc/bad: %d tasks healthy", a.TasksHealthy)
		}
		ids := []string{}
		for _, tk := range a.Tasks {
			ids = append(ids, tk.ID)
			for _, r := range tk.HealthCheckResults {
				if !r.Alive && r.LastFailureCause != nil && *r.LastFailureCause == "404 Not Found" && r.ConsecutiveFailures > 0 {
					seenCause = true
				}
			}
		}
		if first == "" && len(ids) > 0 {
			first = ids[0]
		}
		if first == "" || slices.Contains(ids, first) || !seenCause {
			return fmt.Errorf("/hc/bad: tasks %v (first %s), failure cause seen %v; want the first killed and replaced", ids, first, seenCause)
		}
		return nil
	})
	// The healthy app was left alone.
	if a, err := mc.healthApp("/hc/ok"); err != nil || a.TasksHealthy != 2 {
		t.Fatalf("/hc/ok after: %+v %v", a, err)
	}
}
