package integration

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
)

// startDNS starts `agora dns` for c's master and returns its DNS address (UDP and TCP) and
// the base URL of its HTTP API.
func startDNS(t *testing.T, c *cluster.Cluster) (string, string) {
	t.Helper()
	port := strconv.Itoa(cluster.FreePort(t))
	httpPort := strconv.Itoa(cluster.FreePort(t))
	addr := "127.0.0.1:" + port
	cluster.Start(t, "dns", addr, filepath.Join(t.TempDir(), "dns"), "dns", "--master", c.Master.Addr,
		"--ip", "127.0.0.1", "--port", port, "--http_port", httpPort, "--refresh", "100ms")
	base := "http://127.0.0.1:" + httpPort
	poll.Eventually(t, 20*time.Second, func() error {
		var v map[string]string
		return cluster.GetJSON(context.Background(), base+"/v1/version", &v)
	})
	return addr, base
}

// srvPorts asks addr over network for name's SRV records and returns "target:port" sorted,
// checking that every target has an A record in the additional section.
func srvPorts(network, addr, name string) ([]string, error) {
	m := new(mdns.Msg)
	m.SetQuestion(name, mdns.TypeSRV)
	resp, _, err := (&mdns.Client{Net: network, Timeout: 2 * time.Second}).Exchange(m, addr)
	if err != nil {
		return nil, err
	}
	if resp.Rcode != mdns.RcodeSuccess {
		return nil, fmt.Errorf("%s: %s", name, mdns.RcodeToString[resp.Rcode])
	}
	extra := map[string]string{}
	for _, rr := range resp.Extra {
		if a, ok := rr.(*mdns.A); ok {
			extra[a.Hdr.Name] = a.A.String()
		}
	}
	var out []string
	for _, rr := range resp.Answer {
		srv := rr.(*mdns.SRV)
		ip, ok := extra[srv.Target]
		if !ok {
			return nil, fmt.Errorf("%s: no A record of %s in the additional section", name, srv.Target)
		}
		out = append(out, ip+":"+strconv.Itoa(int(srv.Port)))
	}
	sort.Strings(out)
	return out, nil
}

func taskHostPorts(a mApp) []string {
	var out []string
	for _, tk := range a.Tasks {
		for _, p := range tk.Ports {
			out = append(out, "127.0.0.1:"+strconv.FormatUint(p, 10))
		}
	}
	sort.Strings(out)
	return out
}

// TestDNSMarathonApp: an app of 3 instances started by `agora marathon` resolves through
// `agora dns` (SRV: 3 host:port pairs over UDP and TCP, also with dig; A: the agent's IP);
// a task killed (and scaled away) leaves the records.
func TestDNSMarathonApp(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1, AgentArgs: []string{"--hostname", "127.0.0.1"}})
	_, mc := startMarathon(t, c)
	dnsAddr, httpBase := startDNS(t, c)

	mc.must(http.MethodPost, "/v2/apps", `{"id":"/shop/cart","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":3,"portDefinitions":[{"port":0}]}`, http.StatusCreated, nil)
	app := mc.settled("/shop/cart", 3, false, 30*time.Second)
	want := taskHostPorts(app)
	if len(want) != 3 {
		t.Fatalf("app tasks' ports: %v, want 3", want)
	}

	const srvName = "_cart-shop._tcp.marathon.mesos."
	poll.Eventually(t, 10*time.Second, func() error {
		for _, network := range []string{"udp", "tcp"} {
			got, err := srvPorts(network, dnsAddr, srvName)
			if err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("%s SRV %s = %v, want %v", network, srvName, got, want)
			}
		}
		return nil
	})
	m := new(mdns.Msg)
	m.SetQuestion("cart-shop.marathon.mesos.", mdns.TypeA)
	resp, _, err := new(mdns.Client).Exchange(m, dnsAddr)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Answer) != 1 || resp.Answer[0].(*mdns.A).A.String() != "127.0.0.1" || !resp.Authoritative {
		t.Errorf("A cart-shop.marathon.mesos. = %v, want one authoritative 127.0.0.1", resp.Answer)
	}
	var services []map[string]string
	if err := cluster.GetJSON(context.Background(), httpBase+"/v1/services/"+srvName, &services); err != nil || len(services) != 3 {
		t.Errorf("GET /v1/services/%s = %v (%v), want 3 entries", srvName, services, err)
	}
	digSRV(t, dnsAddr, srvName, want)

	// Kill one task and scale down: it leaves DNS.
	victim := app.Tasks[0]
	mc.must(http.MethodDelete, "/v2/apps/shop/cart/tasks/"+victim.ID+"?scale=true", "", http.StatusOK, nil)
	gone := "127.0.0.1:" + strconv.FormatUint(victim.Ports[0], 10)
	poll.Eventually(t, 20*time.Second, func() error {
		got, err := srvPorts("udp", dnsAddr, srvName)
		if err != nil {
			return err
		}
		if len(got) != 2 || slices.Contains(got, gone) {
			return fmt.Errorf("after killing %s (%s): SRV = %v, want the 2 others", victim.ID, gone, got)
		}
		return nil
	})
}

// digSRV queries name with Debian's dig (bind9-dnsutils); in CI a missing dig fails.
func digSRV(t *testing.T, addr, name string, want []string) {
	t.Helper()
	dig, err := exec.LookPath("dig")
	if err != nil {
		if hosttest.InCI() {
			t.Fatalf("dig not found (install bind9-dnsutils: scripts/install-deps.sh): %v", err)
		}
		t.Logf("dig not found, not querying with it: %v", err)
		return
	}
	host, port, _ := strings.Cut(addr, ":")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, dig, "@"+host, "-p", port, "+short", "SRV", name).CombinedOutput()
	if err != nil {
		t.Fatalf("dig: %v\n%s", err, out)
	}
	t.Logf("dig @%s -p %s +short SRV %s\n%s", host, port, name, out)
	// +short SRV lines: "priority weight port target".
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 4 {
			t.Fatalf("dig +short SRV line %q", line)
		}
		got = append(got, "127.0.0.1:"+f[2])
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("dig SRV %s = %v, want %v\n%s", name, got, want, out)
	}
}

// TestDNSFollowsOperatorEvents: `agora dns` with an hour between /state reads still
// resolves a task as soon as it runs, and drops it once it is killed: the records follow
// the master's operator SUBSCRIBE stream, not the poll.
func TestDNSFollowsOperatorEvents(t *testing.T) {
	c := cluster.New(t, cluster.Options{Agents: 1})
	port := strconv.Itoa(cluster.FreePort(t))
	addr := "127.0.0.1:" + port
	cluster.Start(t, "dns", addr, filepath.Join(t.TempDir(), "dns"), "dns", "--master", c.Master.Addr,
		"--ip", "127.0.0.1", "--port", port, "--http_port", "-1", "--refresh", "1h")
	lookup := func(name string) (int, error) {
		m := new(mdns.Msg)
		m.SetQuestion(name, mdns.TypeA)
		resp, _, err := (&mdns.Client{Net: "udp", Timeout: 2 * time.Second}).Exchange(m, addr)
		if err != nil {
			return 0, err
		}
		return len(resp.Answer), nil
	}
	// The first /state read is done once leader.mesos resolves.
	poll.Eventually(t, 20*time.Second, func() error {
		if n, err := lookup("leader.mesos."); err != nil || n == 0 {
			return fmt.Errorf("leader.mesos.: %d answers, %v", n, err)
		}
		return nil
	})

	f := c.StartFramework(cluster.FrameworkOptions{Name: "follow"})
	f.Launch(context.Background(), cluster.ShellTask("web", "sleep 60", "cpus:0.1;mem:32"))
	st := f.WaitState("web", mesos.TaskState_TASK_RUNNING, 30*time.Second)
	poll.Eventually(t, 10*time.Second, func() error {
		if n, err := lookup("web.follow.mesos."); err != nil || n != 1 {
			return fmt.Errorf("web.follow.mesos.: %d answers, %v", n, err)
		}
		return nil
	}, "the running task resolves without a /state read")

	if err := f.S.Kill(context.Background(), st.GetTaskId(), st.GetAgentId()); err != nil {
		t.Fatal(err)
	}
	f.WaitState("web", mesos.TaskState_TASK_KILLED, 30*time.Second)
	poll.Eventually(t, 10*time.Second, func() error {
		if n, err := lookup("web.follow.mesos."); err != nil || n != 0 {
			return fmt.Errorf("web.follow.mesos.: %d answers, %v", n, err)
		}
		return nil
	}, "the killed task leaves DNS without a /state read")
}
