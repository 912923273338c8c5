package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
)

func haproxyBin(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/haproxy"); err == nil {
		return "/usr/sbin/haproxy"
	}
	return hosttest.RequireCommand(t, "haproxy")
}

// TestLBHAProxyMarathonApp: `agora lb --haproxy` follows a real Marathon and writes an
// HAProxy configuration, checked by Debian's haproxy at every reload; a real haproxy
// started on it serves the app on its service port and by Host header.
func TestLBHAProxyMarathonApp(t *testing.T) {
	py := python3(t)
	haproxy := haproxyBin(t)
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--hostname", "127.0.0.1"}})
	_, mc := startMarathon(t, c)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	servicePort := cluster.FreePort(t)
	httpPort := strconv.Itoa(cluster.FreePort(t))
	adminPort := strconv.Itoa(cluster.FreePort(t))
	admin := "http://127.0.0.1:" + adminPort
	cluster.Start(t, "lb", "127.0.0.1:"+adminPort, filepath.Join(dir, "lb"), "lb",
		"--marathon", mc.base, "--ip", "127.0.0.1", "--admin_port", adminPort, "--http_port", httpPort,
		"--haproxy", cfgPath, "--haproxy_reload_cmd", haproxy+" -c -q -f "+cfgPath)

	const vhost = "hello.example.com"
	mc.must(http.MethodPost, "/v2/apps", `{"id":"/web/hello","cmd":"echo hello > index.html && exec `+py+` -m http.server $PORT0 --bind 127.0.0.1",
		"cpus":0.1,"mem":32,"instances":2,"portDefinitions":[{"port":`+strconv.Itoa(servicePort)+`}],
		"labels":{"HAPROXY_0_VHOST":"`+vhost+`"}}`, http.StatusCreated, nil)
	app := mc.settled("/web/hello", 2, false, 60*time.Second)
	var cfg []byte
	poll.Eventually(t, 10*time.Second, func() error {
		var err error
		if cfg, err = os.ReadFile(cfgPath); err != nil {
			return err
		}
		for _, hp := range taskHostPorts(app) {
			if strings.Count(string(cfg), " "+hp+"\n") != 2 { // the service port's backend and the virtual host's
				return fmt.Errorf("%s: task %s not in both backends:\n%s", cfgPath, hp, cfg)
			}
		}
		return nil
	})
	served, err := lbGet(http.DefaultClient, admin+"/_lb/haproxy.cfg", "")
	if err != nil || served != strings.TrimSpace(string(cfg)) {
		t.Errorf("GET /_lb/haproxy.cfg = %q, %v; want the file written", served, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	hp := exec.CommandContext(ctx, haproxy, "-db", "-f", cfgPath)
	out := &strings.Builder{}
	hp.Stdout, hp.Stderr = out, out
	if err := hp.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = hp.Wait()
		if t.Failed() {
			t.Logf("---- haproxy output ----\n%s", out)
		}
	})
	hc := &http.Client{Timeout: 5 * time.Second}
	poll.Eventually(t, 10*time.Second, func() error {
		for _, u := range []struct{ url, host string }{
			{"http://127.0.0.1:" + strconv.Itoa(servicePort) + "/index.html", ""},
			{"http://127.0.0.1:" + httpPort + "/index.html", vhost},
		} {
			if body, err := lbGet(hc, u.url, u.host); err != nil || body != "hello" {
				return fmt.Errorf("GET %s (Host %q) through haproxy = %q, %v", u.url, u.host, body, err)
			}
		}
		return nil
	}, "haproxy never served the app")
}
