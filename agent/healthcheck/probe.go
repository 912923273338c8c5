package healthcheck

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// Probe runs one check; nil means healthy. The ctx carries the check's timeout.
type Probe interface {
	Probe(ctx context.Context) error
}

// HTTPProbe GETs scheme://host:port/path; a status in 200–399 is healthy.
type HTTPProbe struct {
	Scheme string // "http" (default) or "https"
	Host   string // "127.0.0.1" (default) or "::1"
	Port   uint32
	Path   string
	// Client sends the request; nil means a client that neither follows redirects nor
	// verifies certificates (the task's certificate will not name 127.0.0.1).
	Client *http.Client
}

// Probe implements Probe.
func (p HTTPProbe) Probe(ctx context.Context) error {
	scheme := p.Scheme
	if scheme == "" {
		scheme = "http"
	}
	host := p.Host
	if host == "" {
		host = "127.0.0.1"
	}
	path := p.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	url := scheme + "://" + net.JoinHostPort(host, strconv.FormatUint(uint64(p.Port), 10)) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := p.Client
	if client == nil {
		client = defaultHTTPClient()
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if client != p.Client {
		client.CloseIdleConnections()
	}
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return nil
}

func defaultHTTPClient() *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback check of the task's own endpoint
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// TCPProbe connects to host:port; a completed connection is healthy.
type TCPProbe struct {
	Host string // "127.0.0.1" (default) or "::1"
	Port uint32
}

// Probe implements Probe.
func (p TCPProbe) Probe(ctx context.Context) error {
	host := p.Host
	if host == "" {
		host = "127.0.0.1"
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.FormatUint(uint64(p.Port), 10)))
	if err != nil {
		return err
	}
	return conn.Close()
}

// CommandProbe runs a command; exit status 0 is healthy. The command runs in its own process
// group, which is killed when the check times out.
type CommandProbe struct {
	Shell bool     // run /bin/sh -c Value
	Value string   // the shell command, or the program
	Args  []string // argv when !Shell (Args[0] is argv[0]); empty means just Value
	Env   []string // the complete environment, "NAME=value"
	Dir   string   // working directory
	User  *syscall.Credential
	// Started, when set, is called with the check's pid once it runs (the executor host
	// puts it into the task's cgroup).
	Started func(pid int)
}

// Probe implements Probe.
func (p CommandProbe) Probe(ctx context.Context) error {
	var cmd *exec.Cmd
	if p.Shell {
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", p.Value)
	} else {
		cmd = exec.CommandContext(ctx, p.Value)
		if len(p.Args) > 0 {
			cmd.Args = p.Args
		}
	}
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: p.User}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Start()
	if err == nil {
		if p.Started != nil {
			p.Started(cmd.Process.Pid)
		}
		err = cmd.Wait()
	}
	if ctx.Err() != nil {
		return ErrTimeout
	}
	if err != nil {
		return fmt.Errorf("command check: %w", err)
	}
	return nil
}

// ProbeFromProto builds the probe of a HealthCheck. env and dir are the task's environment
// and working directory, used by COMMAND checks (the check's own environment is added).
func ProbeFromProto(hc *mesos.HealthCheck, env []string, dir string) (Probe, error) {
	typ := hc.GetType()
	if typ == mesos.HealthCheck_UNKNOWN {
		switch {
		case hc.Command != nil:
			typ = mesos.HealthCheck_COMMAND
		case hc.Http != nil:
			typ = mesos.HealthCheck_HTTP
		case hc.Tcp != nil:
			typ = mesos.HealthCheck_TCP
		}
	}
	switch typ {
	case mesos.HealthCheck_HTTP:
		if hc.Http == nil {
			return nil, fmt.Errorf("healthcheck: type HTTP without http")
		}
		scheme := hc.Http.GetScheme()
		if scheme != "" && scheme != "http" && scheme != "https" {
			return nil, fmt.Errorf("healthcheck: http.scheme %q: want http or https", scheme)
		}
		return HTTPProbe{Scheme: scheme, Host: loopback(hc.Http.GetProtocol()), Port: hc.Http.GetPort(), Path: hc.Http.GetPath()}, nil
	case mesos.HealthCheck_TCP:
		if hc.Tcp == nil {
			return nil, fmt.Errorf("healthcheck: type TCP without tcp")
		}
		return TCPProbe{Host: loopback(hc.Tcp.GetProtocol()), Port: hc.Tcp.GetPort()}, nil
	case mesos.HealthCheck_COMMAND:
		c := hc.GetCommand()
		if c.GetValue() == "" {
			return nil, fmt.Errorf("healthcheck: type COMMAND without command.value")
		}
		full := append([]string(nil), env...)
		for _, v := range c.GetEnvironment().GetVariables() {
			full = append(full, v.GetName()+"="+v.GetValue())
		}
		return CommandProbe{Shell: c.GetShell(), Value: c.GetValue(), Args: c.GetArguments(), Env: full, Dir: dir}, nil
	}
	return nil, fmt.Errorf("healthcheck: unsupported type %v", hc.GetType())
}

func loopback(p mesos.NetworkInfo_Protocol) string {
	if p == mesos.NetworkInfo_IPv6 {
		return "::1"
	}
	return "127.0.0.1"
}
