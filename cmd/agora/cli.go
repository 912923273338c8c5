package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/agoracluster/agora/client"
)

// This file is the frame of the client commands (apps, jobs, agents, frameworks, tasks,
// logs, top): a group of subcommands, each with its own flags drawn from a shared table,
// table or JSON output, and errors that carry the server's message.

// usageError is a command line the CLI cannot run; main exits 2 for it.
type usageError struct{ msg string }

func (e usageError) Error() string        { return e.msg }
func (e usageError) Is(target error) bool { return target == errUsage }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// opts are the values of every client flag; a subcommand registers the ones it reads.
type opts struct {
	output    string
	marathon  string
	batch     string
	master    string
	file      string
	timeout   time.Duration
	force     bool
	follow    bool
	useStderr bool
	all       bool
	stopRuns  bool
	interval  time.Duration
	count     int
	poll      time.Duration // how often live views (deployment progress, logs --follow) poll
	security  accessFlags   // TLS and credentials, taken by every subcommand
}

// flagDef registers one client flag.
type flagDef func(fs *pflag.FlagSet, o *opts)

// clientFlags are the flags a subcommand may take, by name.
var clientFlags = map[string]flagDef{
	"output": func(fs *pflag.FlagSet, o *opts) {
		fs.StringVarP(&o.output, "output", "o", "table", "output format: table or json")
	},
	"marathon": func(fs *pflag.FlagSet, o *opts) {
		fs.StringVar(&o.marathon, "marathon", "127.0.0.1:8080", "Marathon API URL, or host:port (over HTTPS with --tls_ca_file)")
	},
	"batch": func(fs *pflag.FlagSet, o *opts) {
		fs.StringVar(&o.batch, "batch", "127.0.0.1:8081", "batch API URL, or host:port (over HTTPS with --tls_ca_file)")
	},
	"master": func(fs *pflag.FlagSet, o *opts) {
		fs.StringVar(&o.master, "master", "127.0.0.1:5050", "master address (host:port, or zk://host:2181,…/agora for the elected master)")
	},
	"file": func(fs *pflag.FlagSet, o *opts) {
		fs.StringVarP(&o.file, "file", "f", "", "JSON definition file (- for stdin)")
	},
	"timeout": func(fs *pflag.FlagSet, o *opts) {
		durationVar(fs, &o.timeout, "timeout", 5*time.Minute, "fail when the deployment has not finished after this long")
	},
	"force": func(fs *pflag.FlagSet, o *opts) {
		fs.BoolVar(&o.force, "force", false, "override a deployment in progress")
	},
	"follow": func(fs *pflag.FlagSet, o *opts) {
		fs.BoolVarP(&o.follow, "follow", "F", false, "keep printing what the task writes until it ends")
	},
	"stderr": func(fs *pflag.FlagSet, o *opts) {
		fs.BoolVar(&o.useStderr, "stderr", false, "read the task's stderr instead of its stdout")
	},
	"all": func(fs *pflag.FlagSet, o *opts) {
		fs.BoolVarP(&o.all, "all", "a", false, "include completed tasks")
	},
	"stop-runs": func(fs *pflag.FlagSet, o *opts) {
		fs.BoolVar(&o.stopRuns, "stop-runs", false, "stop the job's active runs first")
	},
	"interval": func(fs *pflag.FlagSet, o *opts) {
		durationVar(fs, &o.interval, "interval", 2*time.Second, "refresh interval")
	},
	"poll": func(fs *pflag.FlagSet, o *opts) {
		durationVar(fs, &o.poll, "poll", time.Second, "how often to poll the servers while following progress or logs")
	},
	"count": func(fs *pflag.FlagSet, o *opts) {
		fs.IntVarP(&o.count, "count", "n", 0, "stop after this many refreshes (0: until interrupted)")
	},
}

// subcommand is one action of a client command.
type subcommand struct {
	summary string
	args    []string // names of the positional arguments, all required
	flags   []string // keys of clientFlags
	run     func(ctx context.Context, c *cli, args []string) error
}

// cli is what a running client command uses: its flags, output streams and the way to
// the servers.
type cli struct {
	opts
	access
	stdout, stderr io.Writer
	tty            bool // stdout is a terminal: redraw progress in place
}

// group is a client command: either a table of subcommands or a single action (single).
type group struct {
	summary string
	subs    map[string]subcommand
	single  *subcommand
}

// clientGroups are the client commands.
func clientGroups() map[string]group {
	return map[string]group{
		"apps":       {summary: "list, deploy, scale, restart, roll back and delete Marathon apps", subs: appsCommands()},
		"jobs":       {summary: "list, create, run and delete batch jobs", subs: jobsCommands()},
		"agents":     {summary: "list the cluster's agents", single: &agentsCommand},
		"frameworks": {summary: "list the registered frameworks", single: &frameworksCommand},
		"tasks":      {summary: "list the cluster's tasks", single: &tasksCommand},
		"logs":       {summary: "print a task's stdout or stderr from its sandbox", single: &logsCommand},
		"top":        {summary: "a live view of the cluster's usage", single: &topCommand},
	}
}

// runGroup returns the run function of the command table for group g.
func runGroup(name string, g group) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		if g.single != nil {
			return runSub(ctx, name, *g.single, args, stdout, stderr)
		}
		if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
			groupUsage(stderr, name, g)
			if len(args) == 0 {
				return errUsage
			}
			return nil
		}
		sub, ok := g.subs[args[0]]
		if !ok {
			groupUsage(stderr, name, g)
			return usagef("%s: unknown subcommand %q", name, args[0])
		}
		return runSub(ctx, name+" "+args[0], sub, args[1:], stdout, stderr)
	}
}

func groupUsage(w io.Writer, name string, g group) {
	fmt.Fprintf(w, "usage: agora %s <subcommand> [flags]\n\nsubcommands:\n", name)
	for _, n := range slices.Sorted(maps.Keys(g.subs)) {
		s := g.subs[n]
		fmt.Fprintf(w, "  %-28s %s\n", strings.TrimSpace(n+" "+strings.Join(s.args, " ")), s.summary)
	}
}

// subFlagSet is the flag set of a subcommand, filling o.
func subFlagSet(name string, sub subcommand, o *opts) *pflag.FlagSet {
	fs := newFlagSet(name)
	for _, f := range sub.flags {
		clientFlags[f](fs, o)
	}
	addAccessFlags(fs, &o.security)
	fs.Usage = func() {}
	return fs
}

func runSub(ctx context.Context, name string, sub subcommand, args []string, stdout, stderr io.Writer) error {
	c := &cli{stdout: stdout, stderr: stderr, tty: isTerminal(stdout)}
	fs := subFlagSet(name, sub, &c.opts)
	if err := parseFlags(fs, args, osEnv); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			subUsage(stderr, name, sub, fs)
			return nil
		}
		subUsage(stderr, name, sub, fs)
		return usagef("%s: %v", name, err)
	}
	if fs.NArg() != len(sub.args) {
		subUsage(stderr, name, sub, fs)
		return usagef("%s: want %d argument(s) (%s), got %d", name, len(sub.args), strings.Join(sub.args, " "), fs.NArg())
	}
	if c.output != "" && c.output != "table" && c.output != "json" {
		return usagef("%s: --output must be table or json, not %q", name, c.output)
	}
	var err error
	if c.access, err = c.security.load(osEnv, 30*time.Second); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return explain(sub.run(ctx, c, fs.Args()))
}

func subUsage(w io.Writer, name string, sub subcommand, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "usage: agora %s [flags]\n\n%s\n\nflags:\n%s",
		strings.TrimSpace(name+" "+strings.Join(sub.args, " ")), sub.summary, fs.FlagUsages())
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (c *cli) json() bool { return c.output == "json" }

// printJSON writes v as indented JSON.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table writes rows under header, aligned.
func (c *cli) table(header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// show writes v as JSON, or as the table rows() builds.
func (c *cli) show(v any, header []string, rows func() [][]string) error {
	if c.json() {
		return c.printJSON(v)
	}
	return c.table(header, rows())
}

func (c *cli) marathonClient() (*client.Marathon, error) {
	return client.NewMarathon(c.url(c.marathon), c.http)
}
func (c *cli) batchClient() (*client.Batch, error) { return client.NewBatch(c.url(c.batch), c.http) }

// masterClient resolves --master (zk:// through ZooKeeper) and returns its client.
func (c *cli) masterClient(ctx context.Context) (*client.Master, error) {
	addr, err := client.ResolveMaster(ctx, c.master, quietLogger())
	if err != nil {
		return nil, err
	}
	return client.NewMaster(c.url(addr), c.http)
}

// agentClient is the client of an agent at host:port, reached as the master is.
func (c *cli) agentClient(addr string) (*client.Agent, error) {
	return client.NewAgent(c.url(addr), c.http)
}

// readDefinition reads --file (- is stdin).
func (c *cli) readDefinition(stdin io.Reader) ([]byte, error) {
	if c.file == "" {
		return nil, usagef("--file (-f) is required")
	}
	if c.file == "-" {
		return io.ReadAll(stdin)
	}
	b, err := os.ReadFile(c.file)
	if err != nil {
		return nil, fmt.Errorf("read definition: %w", err)
	}
	return b, nil
}

// quietLogger is the logger of the ZooKeeper lookup: the CLI reports its errors itself.
func quietLogger() *zap.Logger { return zap.NewNop() }

func ftoa(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}
