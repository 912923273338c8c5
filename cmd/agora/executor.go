package main

import (
	"context"
	"io"
	"os"
	"runtime"

	"github.com/agoracluster/agora/agent/commandexec"
	"github.com/agoracluster/agora/agent/defaultexec"
)

// runExecutor is `agora executor`: Agora's command executor, started by the agent in a
// command task's sandbox with the MESOS_* environment.
func runExecutor(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("executor")
	fs.SetOutput(stderr)
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	// One executor runs per task, a thousand at a time on a busy agent: keep each small.
	runtime.GOMAXPROCS(1)

	cfg, err := commandexec.ConfigFromEnv(osEnv)
	if err != nil {
		return err
	}
	cfg.Env = os.Environ()
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	return commandexec.Run(ctx, cfg, log)
}

// runDefaultExecutor is `agora default-executor`: Agora's default executor, started by the
// agent for a task group whose ExecutorInfo has no command (type DEFAULT).
func runDefaultExecutor(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("default-executor")
	fs.SetOutput(stderr)
	level := fs.String("logging_level", "info", "log level: debug, info, warn, error")
	if err := parseFlags(fs, args, osEnv); err != nil {
		return err
	}
	cfg, err := commandexec.ConfigFromEnv(osEnv)
	if err != nil {
		return err
	}
	cfg.Env = os.Environ()
	log, err := newLogger(*level)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	return defaultexec.Run(ctx, cfg, log)
}
