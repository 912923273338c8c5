// Command agora is the one Agora binary: `agora master|agent|local|marathon|batch|executor|default-executor|executor-host|version`,
// and the client commands `agora apps|jobs|agents|frameworks|tasks|logs|top|completion` (cli.go).
//
// Every subcommand parses its own flags (Mesos and Marathon flag names) and also reads each
// flag from the environment as AGORA_<FLAG>; a flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"syscall"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand of the agora binary.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() map[string]command {
	cmds := map[string]command{
		"version":          {summary: "print the version", run: runVersion},
		"executor":         {summary: "run the command executor (started by the agent)", run: runExecutor},
		"default-executor": {summary: "run the default executor of task groups (started by the agent)", run: runDefaultExecutor},
		"executor-host":    {summary: "run the agent's command executors in one process (started by the agent)", run: runExecutorHost},
		"agent":            {summary: "run an agent", run: runAgent},
		"master":           {summary: "run a master", run: runMaster},
		"local":            {summary: "run a master and agents in one process tree", run: runLocal},
		"marathon":         {summary: "run the Marathon-compatible app framework (REST /v2)", run: runMarathon},
		"batch":            {summary: "run the batch framework: jobs, cron schedules, dependencies (REST /v1)", run: runBatch},
		"completion":       {summary: "print a bash or zsh completion script", run: runCompletion},
		"dns":              {summary: "run the Mesos-DNS-compatible DNS server for the cluster (A, SRV; HTTP /v1)", run: runDNS},
		"simulate":         {summary: "run many simulated agents against a real master (capacity testing)", run: runSimulate},
		"lb":               {summary: "run the marathon-lb-style load balancer fed by Marathon's events (service ports, virtual hosts)", run: runLB},
	}
	for name, g := range clientGroups() { // the client commands (cli.go)
		cmds[name] = command{summary: g.summary, run: runGroup(name, g)}
	}
	return cmds
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if err != errUsage { //nolint:errorlint // the bare sentinel: the usage was printed
			fmt.Fprintln(os.Stderr, "agora:", err)
		}
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "agora: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return errUsage
	}
	if dir := os.Getenv(cpuProfileEnv); dir != "" {
		stopProfile, err := startCPUProfile(dir, args[0])
		if err != nil {
			return err
		}
		defer stopProfile()
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	if errors.Is(err, pflag.ErrHelp) {
		return nil // the flag set printed the usage
	}
	return err
}

// cpuProfileEnv names a directory: every agora process started with it set writes a CPU
// profile of its run to <dir>/<command>-<pid>.prof (profiles of the real processes under a
// benchmark, e.g. the master and `agora batch` of BenchmarkBatchJobs).
const cpuProfileEnv = "AGORA_CPUPROFILE"

// startCPUProfile starts profiling into dir and returns what stops it and closes the file.
func startCPUProfile(dir, command string) (stop func(), err error) {
	f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%d.prof", command, os.Getpid())))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: agora <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(cmds))
	for name := range cmds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %-13s %s\n", name, cmds[name].summary)
	}
	fmt.Fprintln(w, "\nRun 'agora <command> --help' for the flags of a command.")
}

func runVersion(_ context.Context, _ []string, stdout, _ io.Writer) error {
	fmt.Fprintln(stdout, "agora", version)
	return nil
}
