package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agoracluster/agora/internal/poll"
	"github.com/agoracluster/agora/security/authn"
	"github.com/agoracluster/agora/security/credentials"
)

// Binary returns the agora binary under test: $AGORA_BIN, or one built once per test
// binary into a temp dir.
func Binary(t testing.TB) string {
	t.Helper()
	if bin := os.Getenv("AGORA_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "agora-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "agora")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		cmd := exec.Command("go", "build", "-o", builtBin, "./cmd/agora")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build agora: %v", buildErr)
	}
	return builtBin
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Process is one running agora subcommand.
type Process struct {
	Name    string
	Addr    string // host:port it serves on
	WorkDir string
	args    []string
	bin     string
	t       testing.TB
	mu      sync.Mutex
	cmd     *exec.Cmd
	log     *bytes.Buffer
	done    chan struct{}
}

// Start runs `agora <args...>` and stops it (SIGTERM, then SIGKILL) when the test ends.
// Its combined output is printed if the test fails.
func Start(t testing.TB, name, addr, workDir string, args ...string) *Process {
	t.Helper()
	p := &Process{Name: name, Addr: addr, WorkDir: workDir, args: args, bin: Binary(t), t: t}
	p.start()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", p.Name, p.Output())
		}
	})
	return p
}

func (p *Process) start() {
	p.t.Helper()
	cmd := exec.Command(p.bin, p.args...)
	log := &bytes.Buffer{}
	w := &lockedWriter{buf: log, mu: &p.mu}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	p.mu.Lock()
	p.cmd, p.log, p.done = cmd, log, done
	p.mu.Unlock()
}

// Output returns everything the process printed so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Kill sends SIGKILL to the process only (its children, e.g. executors, survive) and waits.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Signal sends sig to the process only, without waiting (see Wait).
func (p *Process) Signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	_ = cmd.Process.Signal(sig)
}

// Wait waits (at most timeout) for the process to exit and reports whether it did.
func (p *Process) Wait(timeout time.Duration) bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// Restart starts the process again with the same arguments.
func (p *Process) Restart() { p.start() }

// Stop sends SIGTERM to the process and, after 10s, SIGKILL; it waits for the exit.
func (p *Process) Stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

type lockedWriter struct {
	buf *bytes.Buffer
	mu  *sync.Mutex
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

// GetJSON fetches url and decodes the JSON body into v.
func GetJSON(ctx context.Context, url string, v any) error {
	return getJSON(ctx, http.DefaultClient, url, v)
}

func getJSON(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Cluster is a master with agents, or (Options.ZooKeeper) several masters in
// ZooKeeper, which agents and frameworks follow.
type Cluster struct {
	Master  *Process   // the first master
	Masters []*Process // every master (just Master without ZooKeeper)
	// ZooKeeper is the zk:// URL of the masters' election ("" for a standalone
	// master): agents and frameworks are given it as their --master.
	ZooKeeper string
	Agents    []*Process
	t         testing.TB
	// HTTP is the client the cluster's own checks use (with Options.ClientTLS: HTTPS).
	HTTP   *http.Client
	scheme string // "http://" or "https://"
}

// Options shape a test cluster.
type Options struct {
	Agents         int
	AgentResources string   // Mesos text form; default "cpus:8;mem:8192;disk:10000;ports:[31000-32000]"
	MasterArgs     []string // extra flags for the master
	AgentArgs      []string // extra flags for every agent
	// ClientTLS, when set, is how the cluster's own checks reach masters that serve HTTPS
	// (give the masters and agents their --tls_* flags in MasterArgs and AgentArgs).
	ClientTLS *tls.Config
	// ClientCredential, when set, is sent (HTTP Basic) with the cluster's own checks, for
	// masters with --authenticate_http_readonly.
	ClientCredential credentials.Credential
	// ZooKeeper, a zk:// URL (see StartZooKeeper), starts Masters masters (default
	// 3) with --zk and a 4s session; agents and frameworks follow the leader.
	ZooKeeper string
	Masters   int
	// MasterZooKeeper, when set, is master i's own zk:// URL to the same ensemble (a
	// zktest.Proxy, to cut one master off); agents and frameworks use ZooKeeper.
	MasterZooKeeper func(i int) string
}

// HASessionTimeout is the --zk_session_timeout of the masters of a cluster in
// ZooKeeper: a SIGKILLed leader's znode lasts this long.
const HASessionTimeout = 4 * time.Second

// New starts a master (or masters in ZooKeeper) and opts.Agents agents and waits
// until every agent is registered.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.AgentResources == "" {
		opts.AgentResources = "cpus:8;mem:8192;disk:10000;ports:[31000-32000]"
	}
	root := t.TempDir()
	c := &Cluster{t: t, ZooKeeper: opts.ZooKeeper, HTTP: http.DefaultClient, scheme: "http://"}
	if opts.ClientTLS != nil {
		c.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: opts.ClientTLS}}
		c.scheme = "https://"
	}
	c.HTTP = authn.Client(c.HTTP, opts.ClientCredential)
	n := 1
	if opts.ZooKeeper != "" {
		n = opts.Masters
		if n == 0 {
			n = 3
		}
	}
	for i := range n {
		mport := FreePort(t)
		maddr := "127.0.0.1:" + strconv.Itoa(mport)
		dir := filepath.Join(root, fmt.Sprintf("master-%d", i))
		margs := []string{"master", "--ip", "127.0.0.1", "--port", strconv.Itoa(mport), "--work_dir", dir}
		name := "master"
		if opts.ZooKeeper != "" {
			zkURL := opts.ZooKeeper
			if opts.MasterZooKeeper != nil {
				zkURL = opts.MasterZooKeeper(i)
			}
			margs = append(margs, "--zk", zkURL, "--zk_session_timeout", HASessionTimeout.String(),
				"--quorum", strconv.Itoa(n/2+1))
			name = fmt.Sprintf("master-%d", i)
		}
		p := Start(t, name, maddr, dir, append(margs, opts.MasterArgs...)...)
		c.Masters = append(c.Masters, p)
		poll.Eventually(t, 20*time.Second, func() error { return c.get(maddr, "/health") })
	}
	c.Master = c.Masters[0]
	if opts.ZooKeeper != "" {
		poll.Eventually(t, 30*time.Second, func() error {
			_, err := c.Leader()
			return err
		})
	}
	for i := 0; i < opts.Agents; i++ {
		c.AddAgent(opts.AgentResources, opts.AgentArgs...)
	}
	return c
}

// MasterFlag is what agents and frameworks are given as their master: the
// ZooKeeper URL, or the master's address.
func (c *Cluster) MasterFlag() string {
	if c.ZooKeeper != "" {
		return c.ZooKeeper
	}
	return c.Master.Addr
}

// Leader returns the master whose /state says it is elected, or an error if
// none (or more than one) does.
func (c *Cluster) Leader() (*Process, error) {
	var leaders []*Process
	for _, p := range c.Masters {
		var st struct {
			Elected *bool `json:"elected"`
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := getJSON(ctx, c.HTTP, c.scheme+p.Addr+"/state", &st)
		cancel()
		if err == nil && (st.Elected == nil || *st.Elected) {
			leaders = append(leaders, p)
		}
	}
	if len(leaders) != 1 {
		return nil, fmt.Errorf("%d masters lead, want 1", len(leaders))
	}
	return leaders[0], nil
}

// AddAgent starts one more agent and waits until the master lists it.
func (c *Cluster) AddAgent(res string, extra ...string) *Process {
	c.t.Helper()
	port := FreePort(c.t)
	dir := filepath.Join(c.t.TempDir(), "agent")
	args := append([]string{"agent", "--master", c.MasterFlag(), "--ip", "127.0.0.1",
		"--port", strconv.Itoa(port), "--work_dir", dir, "--resources", res}, extra...)
	// Every agent keeps its containers' cgroups under a root of its own, removed with it
	// (a stopped agent leaves them, as their tasks may live on).
	cgroupsRoot := ""
	if !slices.Contains(extra, "--cgroups_root") {
		cgroupsRoot = "agora-it-" + strconv.Itoa(port)
		args = append(args, "--cgroups_root", cgroupsRoot)
	}
	// Cleanups run last-registered first: this one runs after Start's has stopped the agent.
	c.t.Cleanup(func() {
		KillProcessesUnder(dir)
		if cgroupsRoot != "" {
			RemoveCgroupRoot(c.t, cgroupsRoot)
		}
	})
	p := Start(c.t, fmt.Sprintf("agent-%d", len(c.Agents)), "127.0.0.1:"+strconv.Itoa(port), dir, args...)
	c.Agents = append(c.Agents, p)
	poll.Eventually(c.t, 20*time.Second, func() error {
		active, err := c.agentActive(port)
		if err != nil {
			return err
		}
		if !active {
			return fmt.Errorf("agent on port %d not registered", port)
		}
		return nil
	})
	return p
}

// agentActive tells whether the master lists an active agent on port.
func (c *Cluster) agentActive(port int) (bool, error) {
	st, err := c.masterState()
	if err != nil {
		return false, err
	}
	for _, s := range st.Slaves {
		if s.Port == port && s.Active {
			return true, nil
		}
	}
	return false, nil
}

type masterState struct {
	Slaves []struct {
		ID     string `json:"id"`
		Port   int    `json:"port"`
		Active bool   `json:"active"`
	} `json:"slaves"`
}

func (c *Cluster) masterState() (masterState, error) {
	var st masterState
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := getJSON(ctx, c.HTTP, c.MasterURL()+"/state", &st)
	return st, err
}

// MasterURL is the base URL of the master (the leader, in ZooKeeper; the first
// master while none leads).
func (c *Cluster) MasterURL() string {
	if c.ZooKeeper != "" {
		if p, err := c.Leader(); err == nil {
			return c.scheme + p.Addr
		}
	}
	return c.scheme + c.Master.Addr
}

// ActiveAgents counts the agents the master reports as active.
func (c *Cluster) ActiveAgents() (int, error) {
	st, err := c.masterState()
	if err != nil {
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

func (c *Cluster) get(addr, path string) error {
	resp, err := c.HTTP.Get(c.scheme + addr + path)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return nil
}
