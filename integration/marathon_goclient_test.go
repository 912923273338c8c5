package integration

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gomarathon "github.com/gambol99/go-marathon"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
)

// syncBuffer is a bytes.Buffer that the client's event goroutine may write to.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMarathonGoClient drives `agora marathon` with an unchanged Go Marathon client
// (github.com/gambol99/go-marathon): create, scale, kill with and without scale, restart,
// update, versions and rollback, groups, the queue, deployments, events over SSE and
// delete. The client decodes every answer into its own types, so a shape it cannot read
// fails the test.
func TestMarathonGoClient(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	_, mc := startMarathon(t, c)
	debug := &syncBuffer{}
	cfg := gomarathon.NewDefaultConfig()
	cfg.URL = mc.base
	cfg.EventsTransport = gomarathon.EventsTransportSSE
	cfg.LogOutput = debug
	cfg.PollingWaitTime = 100 * time.Millisecond
	client, err := gomarathon.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const wait = 60 * time.Second
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitDeployment := func(what string, d *gomarathon.DeploymentID, err error) {
		t.Helper()
		must(what, err)
		if d == nil || d.DeploymentID == "" || d.Version == "" {
			t.Fatalf("%s: deployment %+v", what, d)
		}
		must(what+": wait on deployment", client.WaitOnDeployment(d.DeploymentID, wait))
	}
	runningTasks := func(id string, n int) []gomarathon.Task {
		t.Helper()
		var ts []gomarathon.Task
		poll.Eventually(t, wait, func() error {
			tasks, err := client.Tasks(id)
			if err != nil {
				return err
			}
			ts = ts[:0]
			for _, tk := range tasks.Tasks {
				if tk.State == "TASK_RUNNING" {
					ts = append(ts, tk)
				}
			}
			if len(ts) != n || len(tasks.Tasks) != n {
				return fmt.Errorf("%s: %d tasks, %d running; want %d", id, len(tasks.Tasks), len(ts), n)
			}
			return nil
		})
		return ts
	}

	ok, err := client.Ping()
	must("ping", err)
	if !ok {
		t.Fatal("ping not ok")
	}
	poll.Eventually(t, wait, func() error { // the framework id comes with the subscription
		info, err := client.Info()
		if err != nil {
			return err
		}
		if info.FrameworkID == "" || info.Version == "" || info.Leader == "" {
			return fmt.Errorf("info = %+v", info)
		}
		return nil
	})
	leader, err := client.Leader()
	must("leader", err)
	if leader == "" {
		t.Fatal("no leader")
	}
	evs, err := client.AddEventsListener(gomarathon.EventIDStatusUpdate | gomarathon.EventIDDeploymentSuccess | gomarathon.EventIDAPIRequest)
	must("events", err)
	defer client.RemoveEventsListener(evs)

	// Create and wait until its tasks run.
	const id = "/goclient/web"
	a := &gomarathon.Application{}
	a.Name(id).Command("sleep 1000").CPU(0.1).Memory(16).Count(2)
	created, err := client.CreateApplication(a)
	must("create", err)
	if created.ID != id || len(created.Deployments) != 1 {
		t.Fatalf("created = %+v", created)
	}
	must("wait on app", client.WaitOnApplication(id, wait))
	runningTasks(id, 2)

	// Scale up.
	d, err := client.ScaleApplicationInstances(id, 3, false)
	waitDeployment("scale", d, err)
	ts := runningTasks(id, 3)

	// Kill one task and scale down: two are left, none replaced.
	_, err = client.KillTask(ts[0].ID, &gomarathon.KillTaskOpts{Scale: true})
	must("kill and scale", err)
	poll.Eventually(t, wait, func() error {
		got, err := client.Application(id)
		if err != nil {
			return err
		}
		if got.Instances == nil || *got.Instances != 2 {
			return fmt.Errorf("instances after kill with scale = %v", got.Instances)
		}
		return nil
	})
	ts = runningTasks(id, 2)

	// Kill one task without scale: it is replaced.
	k, err := client.KillTask(ts[0].ID, nil)
	must("kill", err)
	if k.ID != ts[0].ID || k.AppID != id {
		t.Fatalf("killed task = %+v; want %s of %s", k, ts[0].ID, id)
	}
	poll.Eventually(t, wait, func() error {
		now := runningTasks(id, 2)
		if slices.ContainsFunc(now, func(x gomarathon.Task) bool { return x.ID == ts[0].ID }) {
			return errors.New("killed task still listed")
		}
		return nil
	})

	// Kill all of the app's tasks: they are replaced.
	before := runningTasks(id, 2)
	all, err := client.KillApplicationTasks(id, &gomarathon.KillApplicationTasksOpts{})
	must("kill app tasks", err)
	if len(all.Tasks) != 2 {
		t.Fatalf("killed %d tasks; want 2", len(all.Tasks))
	}
	poll.Eventually(t, wait, func() error {
		for _, x := range runningTasks(id, 2) {
			if slices.ContainsFunc(before, func(b gomarathon.Task) bool { return b.ID == x.ID }) {
				return fmt.Errorf("task %s not replaced yet", x.ID)
			}
		}
		return nil
	})

	// Restart.
	d, err = client.RestartApplication(id, false)
	waitDeployment("restart", d, err)
	runningTasks(id, 2)

	// Update the command (force=true on the query).
	upd := &gomarathon.Application{ID: id}
	upd.Command("sleep 2000")
	d, err = client.UpdateApplication(upd, true)
	waitDeployment("update", d, err)
	got, err := client.Application(id)
	must("get app", err)
	if got.Cmd == nil || *got.Cmd != "sleep 2000" {
		t.Fatalf("cmd after update = %v", got.Cmd)
	}

	// Versions and rollback to the first.
	vs, err := client.ApplicationVersions(id)
	must("versions", err)
	if len(vs.Versions) < 3 {
		t.Fatalf("versions = %v", vs.Versions)
	}
	first := vs.Versions[len(vs.Versions)-1] // newest first
	old, err := client.ApplicationByVersion(id, first)
	must("app by version", err)
	if old.Cmd == nil || *old.Cmd != "sleep 1000" {
		t.Fatalf("first version's cmd = %v", old.Cmd)
	}
	has, err := client.HasApplicationVersion(id, first)
	must("has version", err)
	if !has {
		t.Fatalf("version %s not listed", first)
	}
	d, err = client.SetApplicationVersion(id, &gomarathon.ApplicationVersion{Version: first})
	waitDeployment("rollback", d, err)
	got, err = client.Application(id)
	must("get app", err)
	if got.Cmd == nil || *got.Cmd != "sleep 1000" || got.Instances == nil || *got.Instances != 2 {
		t.Fatalf("after rollback cmd %v instances %v", got.Cmd, got.Instances)
	}

	// Groups.
	ga := &gomarathon.Application{}
	ga.Name("/goclient/grp/app").Command("sleep 1000").CPU(0.1).Memory(16).Count(1)
	grp := gomarathon.NewApplicationGroup("/goclient/grp").App(ga)
	must("create group", client.CreateGroup(grp))
	must("wait on group", client.WaitOnGroup("/goclient/grp", wait))
	g, err := client.Group("/goclient/grp")
	must("group", err)
	if g.ID != "/goclient/grp" || len(g.Apps) != 1 || g.Apps[0].ID != "/goclient/grp/app" {
		t.Fatalf("group = %+v", g)
	}
	groups, err := client.Groups()
	must("groups", err)
	if len(groups.Groups) == 0 {
		t.Fatalf("groups = %+v", groups)
	}
	d, err = client.DeleteGroup("/goclient/grp", false)
	waitDeployment("delete group", d, err)
	if ok, err := client.HasGroup("/goclient/grp"); err != nil || ok {
		t.Fatalf("group after delete: %v %v", ok, err)
	}

	// The queue and deployments: an app that cannot be placed waits in the queue; its
	// deployment is listed, and deleting the deployment rolls it back (this client never
	// sends force), which removes the app again.
	big := &gomarathon.Application{}
	big.Name("/goclient/big").Command("sleep 1000").CPU(100).Memory(16).Count(1)
	_, err = client.CreateApplication(big)
	must("create big", err)
	var depID string
	poll.Eventually(t, wait, func() error {
		q, err := client.Queue()
		if err != nil {
			return err
		}
		if len(q.Items) != 1 || q.Items[0].Application.ID != "/goclient/big" || q.Items[0].Count != 1 {
			return fmt.Errorf("queue = %+v", q.Items)
		}
		deps, err := client.Deployments()
		if err != nil {
			return err
		}
		if len(deps) != 1 || !slices.Contains(deps[0].AffectedApps, "/goclient/big") {
			return fmt.Errorf("deployments = %+v", deps)
		}
		depID = deps[0].ID
		return nil
	})
	must("reset delay", client.DeleteQueueDelay("/goclient/big"))
	d, err = client.DeleteDeployment(depID, true)
	waitDeployment("roll back the deployment", d, err)
	if _, err := client.Application("/goclient/big"); !isNotFound(err) {
		t.Fatalf("app after the rollback of its creation: %v; want not found", err)
	}

	// Delete.
	d, err = client.DeleteApplication(id, false)
	waitDeployment("delete", d, err)
	if _, err := client.Application(id); !isNotFound(err) {
		t.Fatalf("get after delete: %v; want not found", err)
	}

	// Events came over SSE and decoded into the client's types.
	seen := map[string]bool{}
	deadline := time.After(10 * time.Second)
	for !seen["status_update_event"] || !seen["deployment_success"] || !seen["api_post_event"] {
		select {
		case ev := <-evs:
			seen[ev.Name] = true
		case <-deadline:
			t.Fatalf("events seen %v; debug log:\n%s", seen, debug.String())
		}
	}
	// (Events newer than this client, such as instance_changed_event, it only logs as
	// unsupported; one it knows but cannot decode is Agora's fault.)
	if log := debug.String(); strings.Contains(log, "failed to decode") || strings.Contains(log, "failed to receive event") {
		t.Fatalf("the client could not read some events:\n%s", log)
	}
}

func isNotFound(err error) bool {
	var apiErr *gomarathon.APIError
	return errors.As(err, &apiErr) && apiErr.ErrCode == gomarathon.ErrCodeNotFound
}
