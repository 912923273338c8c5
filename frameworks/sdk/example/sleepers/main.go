// Command sleepers is the SDK's showcase: it launches N command tasks, prints their progress,
// and exits 0 when all finished (1 if any failed).
//
//	go run ./frameworks/sdk/example/sleepers --master 127.0.0.1:5050 --tasks 5 --cmd "sleep 1"
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/agoracluster/agora/frameworks/sdk"
	"github.com/agoracluster/agora/frameworks/sdk/offers"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/resources"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// sleepers is the framework's Handler; the SDK calls it from one goroutine.
type sleepers struct {
	sdk.NoopHandler
	out                        io.Writer
	cmd                        string
	need                       resources.Resources
	total, launched, succeeded int             // launched: tasks handed to the master
	seq                        int             // last task number used
	done                       map[string]bool // tasks in a terminal state
}

func (h *sleepers) Offers(ctx context.Context, s *sdk.Scheduler, offered []*mesos.Offer) {
	pool := offers.NewPool(offered)
	for h.launched < h.total {
		o, res, ok := pool.Take(h.need)
		if !ok {
			break
		}
		h.launched, h.seq = h.launched+1, h.seq+1
		id := fmt.Sprintf("sleeper-%d", h.seq)
		o.AddTask(sdk.CommandTask(id, id, h.cmd, res))
		fmt.Fprintf(h.out, "launching %s on %s\n", id, o.Hostname())
	}
	for _, o := range pool.Used() {
		if err := s.Launch(ctx, o.ID(), o.Tasks()...); err != nil {
			h.launched -= len(o.Tasks()) // never reached the master: launch them again
		}
	}
	_ = s.Decline(ctx, pool.Unused(), time.Minute)
	_ = s.SetWantOffers(ctx, h.launched < h.total)
}

func (h *sleepers) Update(ctx context.Context, s *sdk.Scheduler, st *mesos.TaskStatus) {
	id := st.GetTaskId().GetValue()
	fmt.Fprintf(h.out, "%s: %s %s\n", id, st.GetState(), st.GetMessage())
	if !sdk.IsTerminal(st.GetState()) || h.done[id] {
		return
	}
	h.done[id] = true
	if st.GetState() == mesos.TaskState_TASK_FINISHED {
		h.succeeded++
	}
	if len(h.done) == h.total {
		_ = s.Teardown(ctx) // ends Run
	}
}

func run(ctx context.Context, args []string, out io.Writer) int {
	fs := pflag.NewFlagSet("sleepers", pflag.ContinueOnError)
	master := fs.String("master", "127.0.0.1:5050", "master host:port")
	n := fs.Int("tasks", 5, "number of tasks")
	cmd := fs.String("cmd", "sleep 1", "shell command of each task")
	cpus := fs.Float64("cpus", 0.1, "cpus per task")
	mem := fs.Float64("mem", 32, "memory per task (MB)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	need := resources.Of(resources.ScalarResource("cpus", "", *cpus), resources.ScalarResource("mem", "", *mem))
	h := &sleepers{out: out, cmd: *cmd, need: need, total: *n, done: map[string]bool{}}
	cfg := sdk.DefaultConfig()
	cfg.Masters = []string{*master}
	cfg.Framework = &mesos.FrameworkInfo{User: proto.String(os.Getenv("USER")), Name: proto.String("sleepers")}
	s, err := sdk.NewScheduler(cfg, h, zap.NewNop())
	if err == nil {
		err = s.Run(ctx)
	}
	fmt.Fprintf(out, "%d of %d tasks finished (error: %v)\n", h.succeeded, h.total, err)
	if err != nil || h.succeeded < h.total {
		return 1
	}
	return 0
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout)
	stop()
	os.Exit(code)
}
