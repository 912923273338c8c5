package main

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/agoracluster/agora/client"
)

var logsCommand = subcommand{summary: "print a task's stdout (or --stderr) from its sandbox; --follow keeps printing",
	args: []string{"TASK"}, flags: []string{"master", "follow", "stderr", "poll"}, run: logs}

// readChunk is how much one /files/read asks for.
const readChunk = 1 << 20

// terminalStates are the task states after which a task writes nothing more.
var terminalStates = map[string]bool{"TASK_FINISHED": true, "TASK_FAILED": true, "TASK_KILLED": true,
	"TASK_ERROR": true, "TASK_LOST": true, "TASK_DROPPED": true, "TASK_GONE": true, "TASK_GONE_BY_OPERATOR": true}

// logs finds the task's agent on the master and its sandbox on the agent, then reads the
// file through the agent's /files/read; with --follow it polls until the task has ended
// and everything it wrote was printed, or until interrupted.
func logs(ctx context.Context, c *cli, args []string) error {
	m, err := c.masterClient(ctx)
	if err != nil {
		return err
	}
	st, err := m.State(ctx)
	if err != nil {
		return err
	}
	task, err := st.FindTask(args[0])
	if err != nil {
		return err
	}
	ag, ok := st.Agent(task.AgentID)
	if !ok {
		return fmt.Errorf("master: agent %s of task %s is not registered", task.AgentID, task.ID)
	}
	a, err := c.agentClient(ag.Addr())
	if err != nil {
		return err
	}
	ast, err := a.State(ctx)
	if err != nil {
		return err
	}
	dir, err := client.Sandbox(ast, task.FrameworkID, task.ID)
	if err != nil {
		return err
	}
	name := "stdout"
	if c.useStderr {
		name = "stderr"
	}
	file := path.Join(dir, name)
	var offset int64
	done := terminalStates[task.State]
	for {
		chunk, err := a.ReadFile(ctx, file, offset, readChunk)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if chunk.Data != "" {
			if _, err := c.stdout.Write([]byte(chunk.Data)); err != nil {
				return err
			}
			offset = chunk.Offset + int64(len(chunk.Data))
			continue
		}
		if !c.follow || done {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.opts.poll):
		}
		// A task that ended has written all it will: read to the end once more, then stop.
		st, err := m.State(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if t, err := st.FindTask(task.ID); err == nil && terminalStates[t.State] {
			done = true
		}
	}
}
