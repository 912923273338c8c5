package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap/zapcore"

	"github.com/agoracluster/agora/agent/exechost"
)

// runExecutorHost is `agora executor-host`: the process in which an agent's command
// executors run (agent/exechost), started by the agent on first use and left running when
// the agent exits, as executor processes are.
func runExecutorHost(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("executor-host")
	fs.SetOutput(stderr)
	cfg := exechost.DefaultConfig()
	workDir := fs.String("work_dir", "", "the agent's work dir (names the host's socket)")
	level := fs.String("logging_level", "info", "log level of the host and its executors: debug, info, warn, error")
	durationVar(fs, &cfg.IdleTimeout, "idle_timeout", cfg.IdleTimeout, "exit after this long with no executor running and no agent connected")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	if *workDir == "" {
		return errors.New("--work_dir is required")
	}
	lvl, err := zapcore.ParseLevel(*level)
	if err != nil {
		return fmt.Errorf("--logging_level: %w", err)
	}
	cfg.ExecutorLogLevel = lvl
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	return exechost.Serve(ctx, *workDir, cfg, log)
}
