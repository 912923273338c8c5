package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agoracluster/agora/client"
)

// The master's views: agents, frameworks, tasks, and top.

var agentsCommand = subcommand{summary: "list the cluster's agents", flags: []string{"master", "output"}, run: agentsList}

func agentsList(ctx context.Context, c *cli, _ []string) error {
	st, err := c.masterState(ctx)
	if err != nil {
		return err
	}
	agents := st.Agents
	return c.show(agents, []string{"ID", "HOST", "ACTIVE", "CPUS", "MEM", "DISK"}, func() [][]string {
		rows := make([][]string, 0, len(agents))
		for _, a := range agents {
			rows = append(rows, []string{a.ID, a.Addr(), strconv.FormatBool(a.Active),
				usedOf(a.UsedResources.CPUs, a.Resources.CPUs), usedOf(a.UsedResources.Mem, a.Resources.Mem),
				usedOf(a.UsedResources.Disk, a.Resources.Disk)})
		}
		return rows
	})
}

func usedOf(used, total float64) string { return ftoa(used) + "/" + ftoa(total) }

var frameworksCommand = subcommand{summary: "list the registered frameworks", flags: []string{"master", "output"}, run: frameworksList}

func frameworksList(ctx context.Context, c *cli, _ []string) error {
	st, err := c.masterState(ctx)
	if err != nil {
		return err
	}
	fws := st.Frameworks
	return c.show(fws, []string{"ID", "NAME", "ROLES", "ACTIVE", "CONNECTED", "TASKS", "CPUS", "MEM"}, func() [][]string {
		rows := make([][]string, 0, len(fws))
		for _, f := range fws {
			rows = append(rows, []string{f.ID, f.Name, strings.Join(f.Roles, ","), strconv.FormatBool(f.Active),
				strconv.FormatBool(f.Connected), strconv.Itoa(len(f.Tasks)), ftoa(f.UsedResources.CPUs), ftoa(f.UsedResources.Mem)})
		}
		return rows
	})
}

var tasksCommand = subcommand{summary: "list the cluster's tasks", flags: []string{"master", "output", "all"}, run: tasksList}

// taskRow is a task with its framework's name and its agent's address.
type taskRow struct {
	client.Task
	Framework string `json:"framework"`
	Host      string `json:"host"`
}

func tasksList(ctx context.Context, c *cli, _ []string) error {
	st, err := c.masterState(ctx)
	if err != nil {
		return err
	}
	tasks := []taskRow{}
	for _, f := range st.Frameworks {
		lists := [][]client.Task{f.Tasks}
		if c.all {
			lists = append(lists, f.CompletedTasks)
		}
		for _, l := range lists {
			for _, t := range l {
				host := t.AgentID
				if a, ok := st.Agent(t.AgentID); ok {
					host = a.Addr()
				}
				tasks = append(tasks, taskRow{Task: t, Framework: f.Name, Host: host})
			}
		}
	}
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].ID < tasks[j].ID })
	return c.show(tasks, []string{"ID", "STATE", "FRAMEWORK", "HOST", "CPUS", "MEM"}, func() [][]string {
		rows := make([][]string, 0, len(tasks))
		for _, t := range tasks {
			rows = append(rows, []string{t.ID, t.State, t.Framework, t.Host, ftoa(t.Resources.CPUs), ftoa(t.Resources.Mem)})
		}
		return rows
	})
}

func (c *cli) masterState(ctx context.Context) (client.MasterState, error) {
	m, err := c.masterClient(ctx)
	if err != nil {
		return client.MasterState{}, err
	}
	return m.State(ctx)
}

var topCommand = subcommand{summary: "a live view of the cluster's usage, refreshed every --interval",
	flags: []string{"master", "output", "interval", "count"}, run: top}

// clusterUsage is one sample of the cluster for top.
type clusterUsage struct {
	Time         time.Time             `json:"time"`
	Agents       int                   `json:"agents"`
	ActiveAgents int                   `json:"activeAgents"`
	Frameworks   int                   `json:"frameworks"`
	CPUs         [2]float64            `json:"cpus"` // used, total
	Mem          [2]float64            `json:"mem"`
	Disk         [2]float64            `json:"disk"`
	Tasks        map[string]int        `json:"tasks"` // by state
	Busiest      []client.AgentSummary `json:"-"`
}

func sample(st client.MasterState, now time.Time) clusterUsage {
	u := clusterUsage{Time: now, Agents: len(st.Agents), Frameworks: len(st.Frameworks), Tasks: map[string]int{}}
	for _, a := range st.Agents {
		if a.Active {
			u.ActiveAgents++
		}
		u.CPUs[0] += a.UsedResources.CPUs
		u.CPUs[1] += a.Resources.CPUs
		u.Mem[0] += a.UsedResources.Mem
		u.Mem[1] += a.Resources.Mem
		u.Disk[0] += a.UsedResources.Disk
		u.Disk[1] += a.Resources.Disk
	}
	for _, f := range st.Frameworks {
		for _, t := range f.Tasks {
			u.Tasks[t.State]++
		}
	}
	u.Busiest = append([]client.AgentSummary(nil), st.Agents...)
	sort.SliceStable(u.Busiest, func(i, j int) bool {
		return share(u.Busiest[i]) > share(u.Busiest[j])
	})
	return u
}

func share(a client.AgentSummary) float64 {
	if a.Resources.CPUs == 0 {
		return 0
	}
	return a.UsedResources.CPUs / a.Resources.CPUs
}

func percent(p [2]float64) string {
	if p[1] == 0 {
		return "0%"
	}
	return strconv.Itoa(int(p[0]*100/p[1]+0.5)) + "%"
}

// render draws one screen of top.
func (u clusterUsage) render(b *strings.Builder, master string, rows int) {
	fmt.Fprintf(b, "agora top — %s — %s\n\n", master, u.Time.Format(time.TimeOnly))
	fmt.Fprintf(b, "agents: %d (%d active)   frameworks: %d\n", u.Agents, u.ActiveAgents, u.Frameworks)
	fmt.Fprintf(b, "cpus:   %s %s/%s %s\n", progressBar(int(u.CPUs[0]*100), int(u.CPUs[1]*100), 30), ftoa(u.CPUs[0]), ftoa(u.CPUs[1]), percent(u.CPUs))
	fmt.Fprintf(b, "mem:    %s %s/%s MB %s\n", progressBar(int(u.Mem[0]), int(u.Mem[1]), 30), ftoa(u.Mem[0]), ftoa(u.Mem[1]), percent(u.Mem))
	fmt.Fprintf(b, "disk:   %s %s/%s MB %s\n", progressBar(int(u.Disk[0]), int(u.Disk[1]), 30), ftoa(u.Disk[0]), ftoa(u.Disk[1]), percent(u.Disk))
	states := slices.Sorted(maps.Keys(u.Tasks))
	parts := make([]string, 0, len(states))
	total := 0
	for _, s := range states {
		parts = append(parts, fmt.Sprintf("%s %d", strings.TrimPrefix(s, "TASK_"), u.Tasks[s]))
		total += u.Tasks[s]
	}
	fmt.Fprintf(b, "tasks:  %d  %s\n\n", total, strings.Join(parts, "  "))
	fmt.Fprintf(b, "%-40s %-22s %-12s %s\n", "AGENT", "HOST", "CPUS", "MEM")
	for i, a := range u.Busiest {
		if i == rows {
			fmt.Fprintf(b, "… %d more\n", len(u.Busiest)-rows)
			break
		}
		fmt.Fprintf(b, "%-40s %-22s %-12s %s\n", a.ID, a.Addr(), usedOf(a.UsedResources.CPUs, a.Resources.CPUs), usedOf(a.UsedResources.Mem, a.Resources.Mem))
	}
}

// top redraws the cluster's usage every --interval: the whole screen on a terminal, a
// block of lines (or a JSON object per sample) otherwise.
func top(ctx context.Context, c *cli, _ []string) error {
	if c.interval <= 0 {
		return usagef("top: --interval must be positive")
	}
	if c.count < 0 {
		return usagef("top: --count must be >= 0")
	}
	m, err := c.masterClient(ctx)
	if err != nil {
		return err
	}
	ticker := time.NewTicker(c.interval)
	defer ticker.Stop()
	for n := 1; ; n++ {
		st, err := m.State(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted
			}
			return err
		}
		u := sample(st, time.Now())
		if c.json() {
			if err := c.printJSON(u); err != nil {
				return err
			}
		} else {
			var b strings.Builder
			if c.tty {
				b.WriteString("\033[H\033[2J") // home, clear screen
			}
			u.render(&b, m.URL(), 20)
			if !c.tty {
				b.WriteString("\n")
			}
			if _, err := c.stdout.Write([]byte(b.String())); err != nil {
				return err
			}
		}
		if c.count > 0 && n >= c.count {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}
