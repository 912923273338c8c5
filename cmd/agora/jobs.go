package main

import (
	"context"
	"os"
	"strconv"

	"github.com/agoracluster/agora/client"
)

// jobsCommands are `agora jobs …`, against the batch framework's /v1.
func jobsCommands() map[string]subcommand {
	read := []string{"batch", "output"}
	return map[string]subcommand{
		"list":   {summary: "list the jobs", flags: read, run: jobsList},
		"show":   {summary: "show a job, its active runs and history", args: []string{"ID"}, flags: read, run: jobsShow},
		"create": {summary: "create a job from a JSON definition", flags: append([]string{"file"}, read...), run: jobsCreate},
		"run":    {summary: "start a run of a job now", args: []string{"ID"}, flags: read, run: jobsRun},
		"runs":   {summary: "list a job's active runs", args: []string{"ID"}, flags: read, run: jobsRuns},
		"delete": {summary: "delete a job", args: []string{"ID"}, flags: append([]string{"stop-runs"}, read...), run: jobsDelete},
	}
}

func jobRows(jobs []client.Job) [][]string {
	rows := make([][]string, 0, len(jobs))
	for _, j := range jobs {
		ok, failed, last := "0", "0", "-"
		if h := j.History; h != nil {
			ok, failed = strconv.Itoa(h.SuccessCount), strconv.Itoa(h.FailureCount)
			if h.LastSuccessAt != "" {
				last = h.LastSuccessAt
			}
		}
		rows = append(rows, []string{j.ID, strconv.Itoa(len(j.ActiveRuns)), ok, failed, last, ftoa(j.Run.CPUs), ftoa(j.Run.Mem), j.Run.Cmd})
	}
	return rows
}

var jobHeader = []string{"ID", "ACTIVE", "SUCCEEDED", "FAILED", "LAST SUCCESS", "CPUS", "MEM", "CMD"}

func jobsList(ctx context.Context, c *cli, _ []string) error {
	b, err := c.batchClient()
	if err != nil {
		return err
	}
	jobs, err := b.Jobs(ctx)
	if err != nil {
		return err
	}
	return c.show(jobs, jobHeader, func() [][]string { return jobRows(jobs) })
}

func jobsShow(ctx context.Context, c *cli, args []string) error {
	b, err := c.batchClient()
	if err != nil {
		return err
	}
	j, err := b.Job(ctx, args[0])
	if err != nil {
		return err
	}
	if c.json() {
		return c.printJSON(j)
	}
	if err := c.table(jobHeader, jobRows([]client.Job{j})); err != nil {
		return err
	}
	if len(j.ActiveRuns) > 0 {
		c.stdout.Write([]byte("\n"))
		return c.table(runHeader, runRows(j.ActiveRuns))
	}
	return nil
}

func jobsCreate(ctx context.Context, c *cli, _ []string) error {
	def, err := c.readDefinition(os.Stdin)
	if err != nil {
		return err
	}
	b, err := c.batchClient()
	if err != nil {
		return err
	}
	j, err := b.CreateJob(ctx, def)
	if err != nil {
		return err
	}
	return c.show(j, jobHeader, func() [][]string { return jobRows([]client.Job{j}) })
}

var runHeader = []string{"RUN", "JOB", "STATUS", "CREATED", "COMPLETED"}

func runRows(runs []client.JobRun) [][]string {
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		done := r.CompletedAt
		if done == "" {
			done = "-"
		}
		rows = append(rows, []string{r.ID, r.JobID, r.Status, r.CreatedAt, done})
	}
	return rows
}

func jobsRun(ctx context.Context, c *cli, args []string) error {
	b, err := c.batchClient()
	if err != nil {
		return err
	}
	r, err := b.RunJob(ctx, args[0])
	if err != nil {
		return err
	}
	return c.show(r, runHeader, func() [][]string { return runRows([]client.JobRun{r}) })
}

func jobsRuns(ctx context.Context, c *cli, args []string) error {
	b, err := c.batchClient()
	if err != nil {
		return err
	}
	runs, err := b.Runs(ctx, args[0])
	if err != nil {
		return err
	}
	return c.show(runs, runHeader, func() [][]string { return runRows(runs) })
}

func jobsDelete(ctx context.Context, c *cli, args []string) error {
	b, err := c.batchClient()
	if err != nil {
		return err
	}
	if err := b.DeleteJob(ctx, args[0], c.stopRuns); err != nil {
		return err
	}
	if c.json() {
		return c.printJSON(map[string]string{"deleted": args[0]})
	}
	_, err = c.stdout.Write([]byte("deleted job " + args[0] + "\n"))
	return err
}
