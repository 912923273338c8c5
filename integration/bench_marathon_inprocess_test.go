//go:build inprocess

package integration

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/agoracluster/agora/frameworks/batch"
	"github.com/agoracluster/agora/frameworks/marathon"
	"github.com/agoracluster/agora/master"
)

// inProcessLogger logs at info level, as the agora binary does, into io.Discard, so that
// the cost of logging stays in the profile.
func inProcessLogger() *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(io.Discard), zap.InfoLevel))
}

func startInProcessMaster(b *testing.B) string {
	b.Helper()
	cfg := master.DefaultConfig()
	cfg.WorkDir = filepath.Join(b.TempDir(), "master")
	m, err := master.New(cfg, inProcessLogger())
	if err != nil {
		b.Fatal(err)
	}
	ln := listenLoopback(b)
	serveInProcess(b, "master", func(ctx context.Context) error { return m.Run(ctx, ln) })
	return ln.Addr().String()
}

func startInProcessMarathon(b *testing.B, masterAddr string) string {
	b.Helper()
	cfg := marathon.DefaultConfig()
	cfg.Masters = []string{masterAddr}
	cfg.WorkDir = filepath.Join(b.TempDir(), "marathon")
	cfg.Hostname = "127.0.0.1"
	ln := listenLoopback(b)
	cfg.HTTPPort = ln.Addr().(*net.TCPAddr).Port
	m, err := marathon.New(cfg, inProcessLogger())
	if err != nil {
		b.Fatal(err)
	}
	serveInProcess(b, "marathon", func(ctx context.Context) error { return m.Run(ctx, ln) })
	return ln.Addr().String()
}

// startInProcessBatch serves `agora batch` (without sandbox look-ups, as the benchmark runs
// it) from the benchmark process and returns its address.
func startInProcessBatch(b *testing.B, masterAddr string) string {
	b.Helper()
	cfg := batch.DefaultConfig()
	cfg.Masters = []string{masterAddr}
	cfg.WorkDir = filepath.Join(b.TempDir(), "batch")
	cfg.Hostname = "127.0.0.1"
	cfg.FindSandboxes = false
	ln := listenLoopback(b)
	cfg.HTTPPort = ln.Addr().(*net.TCPAddr).Port
	bt, err := batch.New(cfg, inProcessLogger())
	if err != nil {
		b.Fatal(err)
	}
	serveInProcess(b, "batch", func(ctx context.Context) error { return bt.Run(ctx, ln) })
	return ln.Addr().String()
}

func listenLoopback(b *testing.B) net.Listener {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

// serveInProcess runs run until the benchmark ends, then cancels it and waits for it.
func serveInProcess(b *testing.B, name string, run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			b.Errorf("%s: %v", name, err)
		}
	})
}
