//go:build inprocess

package benchtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/agoracluster/agora/agent"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/master"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// InProcess is a master and one agent served from the benchmark process itself, so that
// `go test -cpuprofile` and `-memprofile` cover them. Executors still run as real
// `agora executor` processes.
type InProcess struct {
	MasterAddr   string
	AgentWorkDir string
}

// StartInProcess starts a master and an agent with resources res that runs executorBin as
// the command executor; both stop when the benchmark ends. They log at info level, as the
// agora binary does, into io.Discard (the cost of logging stays in the profile).
func StartInProcess(tb testing.TB, res, executorBin string) *InProcess {
	tb.Helper()
	log := discardLogger()
	root := tb.TempDir()

	mcfg := master.DefaultConfig()
	mcfg.WorkDir = filepath.Join(root, "master")
	m, err := master.New(mcfg, log)
	if err != nil {
		tb.Fatalf("master: %v", err)
	}
	mln := listen(tb)
	serve(tb, "master", func(ctx context.Context) error { return m.Run(ctx, mln) })
	addr := mln.Addr().String()

	acfg := agent.DefaultConfig()
	acfg.Master = addr
	acfg.WorkDir = filepath.Join(root, "agent")
	acfg.Resources = res
	acfg.ExecutorBinary = executorBin
	acfg.ShutdownExecutorsOnExit = true
	a, err := agent.New(acfg, log)
	if err != nil {
		tb.Fatalf("agent: %v", err)
	}
	aln := listen(tb)
	serve(tb, "agent", func(ctx context.Context) error { return a.Run(ctx, aln) })

	poll.Eventually(tb, 20*time.Second, func() error {
		n, err := activeAgents(addr)
		if err == nil && n != 1 {
			err = fmt.Errorf("%d agents active, want 1", n)
		}
		return err
	})
	return &InProcess{MasterAddr: addr, AgentWorkDir: acfg.WorkDir}
}

func discardLogger() *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(io.Discard), zap.InfoLevel))
}

func listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	return ln
}

// serve runs run until the benchmark ends, then cancels it and waits for it to return.
// Cleanups run last-in first-out: the agent stops before the master.
func serve(tb testing.TB, name string, run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("%s: %v", name, err)
		}
	})
}

func activeAgents(addr string) (int, error) {
	var st struct {
		Slaves []struct {
			Active bool `json:"active"`
		} `json:"slaves"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cluster.GetJSON(ctx, "http://"+addr+"/state", &st); err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st.Slaves {
		if s.Active {
			n++
		}
	}
	return n, nil
}
