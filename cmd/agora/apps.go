package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/agoracluster/agora/client"
)

// appsCommands are `agora apps …`, against Marathon's /v2.
func appsCommands() map[string]subcommand {
	read := []string{"marathon", "output"}
	change := []string{"marathon", "output", "timeout", "force", "poll"}
	return map[string]subcommand{
		"list":     {summary: "list the apps", flags: read, run: appsList},
		"show":     {summary: "show an app and its tasks", args: []string{"ID"}, flags: read, run: appsShow},
		"deploy":   {summary: "create or replace an app from a JSON definition and follow the deployment", flags: append([]string{"file"}, change...), run: appsDeploy},
		"scale":    {summary: "set an app's instance count and follow the deployment", args: []string{"ID", "N"}, flags: change, run: appsScale},
		"restart":  {summary: "replace every task of an app and follow the deployment", args: []string{"ID"}, flags: change, run: appsRestart},
		"delete":   {summary: "delete an app and follow the deployment", args: []string{"ID"}, flags: change, run: appsDelete},
		"versions": {summary: "list an app's versions, newest first", args: []string{"ID"}, flags: read, run: appsVersions},
		"rollback": {summary: "make an app what it was at VERSION and follow the deployment", args: []string{"ID", "VERSION"}, flags: change, run: appsRollback},
	}
}

func appsList(ctx context.Context, c *cli, _ []string) error {
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	apps, err := m.Apps(ctx)
	if err != nil {
		return err
	}
	return c.show(apps, []string{"ID", "INSTANCES", "RUNNING", "HEALTHY", "CPUS", "MEM", "DEPLOYING", "VERSION"}, func() [][]string {
		rows := make([][]string, 0, len(apps))
		for _, a := range apps {
			deploying := "-"
			if len(a.Deployments) > 0 {
				deploying = a.Deployments[0].ID
			}
			rows = append(rows, []string{a.ID, strconv.Itoa(a.Instances), strconv.Itoa(a.TasksRunning), healthyCount(a),
				ftoa(a.CPUs), ftoa(a.Mem), deploying, a.Version})
		}
		return rows
	})
}

// healthyCount is an app's healthy tasks, or "-" when it has no health checks.
func healthyCount(a client.App) string {
	if len(a.HealthChecks) == 0 {
		return "-"
	}
	return strconv.Itoa(a.TasksHealthy)
}

func appsShow(ctx context.Context, c *cli, args []string) error {
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	a, err := m.App(ctx, args[0])
	if err != nil {
		return err
	}
	if c.json() {
		return c.printJSON(a)
	}
	fmt.Fprintf(c.stdout, "ID:         %s\nCommand:    %s\nInstances:  %d (running %d, healthy %s, staged %d)\nResources:  cpus %s, mem %s\nVersion:    %s\n",
		a.ID, a.Cmd, a.Instances, a.TasksRunning, healthyCount(a), a.TasksStaged, ftoa(a.CPUs), ftoa(a.Mem), a.Version)
	for _, d := range a.Deployments {
		fmt.Fprintf(c.stdout, "Deployment: %s\n", d.ID)
	}
	if f := a.LastTaskFailure; f != nil {
		fmt.Fprintf(c.stdout, "Last failure: %s %s on %s: %s\n", f.TaskID, f.State, f.Host, f.Message)
	}
	fmt.Fprintln(c.stdout)
	rows := make([][]string, 0, len(a.Tasks))
	for _, t := range a.Tasks {
		ports := make([]string, len(t.Ports))
		for i, p := range t.Ports {
			ports[i] = strconv.Itoa(p)
		}
		rows = append(rows, []string{t.ID, t.State, t.Host, strings.Join(ports, ","), t.Version})
	}
	return c.table([]string{"TASK", "STATE", "HOST", "PORTS", "VERSION"}, rows)
}

func appsVersions(ctx context.Context, c *cli, args []string) error {
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	vs, err := m.Versions(ctx, args[0])
	if err != nil {
		return err
	}
	return c.show(vs, []string{"VERSION"}, func() [][]string {
		rows := make([][]string, len(vs))
		for i, v := range vs {
			rows[i] = []string{v}
		}
		return rows
	})
}

func appsDeploy(ctx context.Context, c *cli, _ []string) error {
	def, err := c.readDefinition(os.Stdin)
	if err != nil {
		return err
	}
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	var id struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(def, &id) // Deploy reports a definition without an id
	d, err := m.Deploy(ctx, def, c.force)
	if err != nil {
		return err
	}
	return c.watch(ctx, m, canonicalAppID(id.ID), d, false)
}

func appsScale(ctx context.Context, c *cli, args []string) error {
	n, err := strconv.Atoi(args[1])
	if err != nil || n < 0 {
		return usagef("apps scale: N must be a count >= 0, not %q", args[1])
	}
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	d, err := m.Scale(ctx, args[0], n, c.force)
	if err != nil {
		return err
	}
	return c.watch(ctx, m, canonicalAppID(args[0]), d, false)
}

func appsRestart(ctx context.Context, c *cli, args []string) error {
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	d, err := m.Restart(ctx, args[0], c.force)
	if err != nil {
		return err
	}
	return c.watch(ctx, m, canonicalAppID(args[0]), d, false)
}

func appsDelete(ctx context.Context, c *cli, args []string) error {
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	d, err := m.Delete(ctx, args[0], c.force)
	if err != nil {
		return err
	}
	return c.watch(ctx, m, canonicalAppID(args[0]), d, true)
}

func appsRollback(ctx context.Context, c *cli, args []string) error {
	m, err := c.marathonClient()
	if err != nil {
		return err
	}
	d, err := m.Rollback(ctx, args[0], args[1], c.force)
	if err != nil {
		return err
	}
	return c.watch(ctx, m, canonicalAppID(args[0]), d, false)
}

func canonicalAppID(id string) string { return "/" + strings.Trim(id, "/") }

// progress is one observation of a deployment.
type progress struct {
	DeploymentID string `json:"deploymentId"`
	Version      string `json:"version"`
	App          string `json:"app"`
	Status       string `json:"status"` // "deploying", "succeeded", "failed"
	Target       int    `json:"instances"`
	Running      int    `json:"running"`
	Healthy      int    `json:"healthy"`
	HealthChecks bool   `json:"healthChecks"`
	Step         string `json:"step,omitempty"`
	Waiting      string `json:"waiting,omitempty"` // the queue's reason
	LastFailure  string `json:"lastTaskFailure,omitempty"`
	Reason       string `json:"reason,omitempty"` // why it failed
	gone         bool   // the deployment is no longer listed
	others       []string
}

// ready is the count that must reach Target: healthy tasks when the app has health
// checks, running ones otherwise.
func (p progress) ready() int {
	if p.HealthChecks {
		return p.Healthy
	}
	return p.Running
}

// observe reads the deployment, the app and the queue once.
func observe(ctx context.Context, m *client.Marathon, appID string, d client.Deployed, deleting bool) (progress, error) {
	p := progress{DeploymentID: d.DeploymentID, Version: d.Version, App: appID, Status: "deploying", gone: true}
	deps, err := m.Deployments(ctx)
	if err != nil {
		return p, err
	}
	for _, dep := range deps {
		if dep.ID != d.DeploymentID {
			continue
		}
		p.gone = false
		var acts []string
		for _, a := range dep.CurrentActions {
			acts = append(acts, a.Action+" "+a.App)
		}
		p.Step = fmt.Sprintf("step %d/%d", dep.CurrentStep, dep.TotalSteps)
		if len(acts) > 0 {
			p.Step += ": " + strings.Join(acts, ", ")
		}
	}
	a, err := m.App(ctx, appID)
	switch {
	case deleting && client.IsNotFound(err):
		return p, nil
	case err != nil:
		return p, err
	}
	p.Target, p.Running, p.Healthy, p.HealthChecks = a.Instances, a.TasksRunning, a.TasksHealthy, len(a.HealthChecks) > 0
	if deleting {
		p.Target = 0
	}
	for _, dep := range a.Deployments {
		if dep.ID != d.DeploymentID {
			p.others = append(p.others, dep.ID)
		}
	}
	if f := a.LastTaskFailure; f != nil {
		p.LastFailure = fmt.Sprintf("%s %s: %s", f.TaskID, f.State, f.Message)
	}
	q, err := m.Queue(ctx)
	if err != nil {
		return p, err
	}
	for _, e := range q {
		if e.App.ID == appID && e.Count > 0 {
			p.Waiting = fmt.Sprintf("%d launch(es) waiting", e.Count)
			if r := e.Reason(); r != "" {
				p.Waiting += ": " + r
			}
		}
	}
	return p, nil
}

// watch shows a deployment's progress until it finishes (nil), is replaced or times out
// (an error with the reason). With --output json it prints only the final state.
func (c *cli) watch(ctx context.Context, m *client.Marathon, appID string, d client.Deployed, deleting bool) error {
	deadline := time.Now().Add(c.timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if !c.json() {
		fmt.Fprintf(c.stdout, "deployment %s of %s (version %s)\n", d.DeploymentID, appID, d.Version)
	}
	ticker := time.NewTicker(c.opts.poll)
	defer ticker.Stop()
	var last progress
	lastLine := ""
	for {
		p, err := observe(ctx, m, appID, d, deleting)
		if err != nil && ctx.Err() == nil {
			c.endLine(lastLine)
			return err
		}
		if err == nil {
			last = p
			switch {
			case p.gone && len(p.others) > 0:
				p.Status, p.Reason = "failed", "replaced by deployment "+strings.Join(p.others, ", ")
			case p.gone:
				p.Status = "succeeded"
			}
			if !c.json() {
				lastLine = c.drawProgress(p, lastLine)
			}
			if p.Status != "deploying" {
				return c.finish(p, lastLine)
			}
		}
		select {
		case <-ctx.Done():
			last.Status = "failed"
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				last.Reason = fmt.Sprintf("timed out after %v", c.timeout)
			} else {
				last.Reason = ctx.Err().Error()
			}
			return c.finish(last, lastLine)
		case <-ticker.C:
		}
	}
}

// finish reports the deployment's outcome.
func (c *cli) finish(p progress, lastLine string) error {
	if c.json() {
		if err := c.printJSON(p); err != nil {
			return err
		}
	} else {
		c.endLine(lastLine)
	}
	if p.Status == "succeeded" {
		if !c.json() {
			fmt.Fprintf(c.stdout, "deployment %s succeeded: %s\n", p.DeploymentID, p.counts())
		}
		return nil
	}
	msg := fmt.Sprintf("deployment %s of %s failed: %s (%s)", p.DeploymentID, p.App, p.Reason, p.counts())
	if p.Waiting != "" {
		msg += "; " + p.Waiting
	}
	if p.LastFailure != "" {
		msg += "; last task failure: " + p.LastFailure
	}
	return errors.New(msg)
}

func (p progress) counts() string {
	word := "running"
	if p.HealthChecks {
		word = "healthy"
	}
	return fmt.Sprintf("%d/%d %s", p.ready(), p.Target, word)
}

// progressBar draws done/total as [#####.....].
func progressBar(done, total, width int) string {
	if total <= 0 {
		if done > 0 {
			return "[" + strings.Repeat(".", width) + "]"
		}
		return "[" + strings.Repeat("#", width) + "]"
	}
	n := min(done, total) * width / total
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// drawProgress shows p: on a terminal by redrawing one line, otherwise by printing a line
// when what it says changes. It returns the line shown.
func (c *cli) drawProgress(p progress, prev string) string {
	parts := []string{progressBar(p.ready(), p.Target, 20) + " " + p.counts()}
	if p.Step != "" {
		parts = append(parts, p.Step)
	}
	if p.Waiting != "" {
		parts = append(parts, p.Waiting)
	}
	line := strings.Join(parts, " | ")
	switch {
	case c.tty:
		fmt.Fprintf(c.stdout, "\r\033[K%s", line)
	case line != prev:
		fmt.Fprintln(c.stdout, line)
	}
	return line
}

// endLine ends a progress line redrawn in place.
func (c *cli) endLine(line string) {
	if c.tty && line != "" {
		fmt.Fprintln(c.stdout)
	}
}
