package lb

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func goldenTable() Table {
	apps := []App{
		{ID: "/shop/cart", Labels: map[string]string{"HAPROXY_0_VHOST": "cart.example.com,shop.example.com"}, PortDefinitions: ports(10000, 10001),
			Tasks: []Task{running("shop_cart.a1", "10.0.0.1", 31000, 31001), running("shop_cart.b2", "10.0.0.2", 31000, 31001)}},
		{ID: "/db", PortDefinitions: ports(10002), Tasks: []Task{running("db.c3", "10.0.0.3", 31002)}},
		{ID: "/empty", Labels: map[string]string{"HAPROXY_0_VHOST": "empty.example.com"}, PortDefinitions: ports(10003)},
		{ID: "/internal", Labels: map[string]string{"HAPROXY_GROUP": "internal"}, PortDefinitions: ports(10004), Tasks: []Task{running("i.d4", "10.0.0.4", 31004)}},
	}
	t, _ := Build(apps, "external")
	return t
}

func TestRenderHAProxyGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts HAProxyOptions
	}{
		{"haproxy.cfg", HAProxyOptions{Group: "external", IP: "0.0.0.0", HTTPPort: 80, Balance: RoundRobin, ConnectTimeout: 2 * time.Second}},
		{"haproxy-leastconn-nohttp.cfg", HAProxyOptions{Group: "external", IP: "127.0.0.1", HTTPPort: -1, Balance: LeastConn, ConnectTimeout: 500 * time.Millisecond}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := RenderHAProxy(goldenTable(), tt.opts)
			path := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("RenderHAProxy differs from %s (go test -update, then review the diff):\n%s", path, got)
			}
			if again := RenderHAProxy(goldenTable(), tt.opts); !bytes.Equal(again, got) {
				t.Error("RenderHAProxy is not deterministic")
			}
			checkWithHAProxy(t, path)
		})
	}
}

// checkWithHAProxy validates a rendered file with `haproxy -c` where Debian's haproxy is
// installed.
func checkWithHAProxy(t *testing.T, path string) {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Logf("haproxy not installed; %s not checked with haproxy -c", path)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Errorf("haproxy -c -f %s: %v\n%s", path, err, out)
	}
}

func TestHAProxyWriter(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	reloads := filepath.Join(dir, "reloads")
	fail := filepath.Join(dir, "fail")
	cmd := "test ! -e " + fail + " || { echo reload refused; exit 1; }; echo reload >> " + reloads
	w, err := NewHAProxyWriter(path, cmd, HAProxyOptions{Group: "external", IP: "127.0.0.1", HTTPPort: -1, Balance: RoundRobin, ConnectTimeout: time.Second}, 30*time.Second, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	countReloads := func() int {
		b, _ := os.ReadFile(reloads)
		return bytes.Count(b, []byte("reload"))
	}
	ctx := context.Background()
	one := Table{Services: []Service{{Port: 10000, AppID: "/web", Backends: []Backend{{"t1", "127.0.0.1:31000"}}}}}
	two := Table{Services: []Service{{Port: 10000, AppID: "/web", Backends: []Backend{{"t1", "127.0.0.1:31000"}, {"t2", "127.0.0.1:31001"}}}}}

	w.Update(ctx, one)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, RenderHAProxy(one, w.opts)) || countReloads() != 1 {
		t.Fatalf("after the first table: file %q, %d reloads; want the rendering and 1 reload", got, countReloads())
	}
	w.Update(ctx, one)
	if countReloads() != 1 {
		t.Errorf("an unchanged table reloaded: %d reloads", countReloads())
	}
	if err := os.WriteFile(fail, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w.Update(ctx, two) // the reload fails: tried again at the next update, even unchanged
	if got, _ := os.ReadFile(path); !bytes.Equal(got, RenderHAProxy(two, w.opts)) || countReloads() != 1 {
		t.Fatalf("after a refused reload: file %q, %d reloads", got, countReloads())
	}
	os.Remove(fail)
	w.Update(ctx, two)
	if countReloads() != 2 {
		t.Errorf("after the reload works again: %d reloads, want 2", countReloads())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("files left in the config's directory: %v, want haproxy.cfg and reloads", entries)
	}
	if _, err := NewHAProxyWriter(filepath.Join(dir, "missing", "haproxy.cfg"), "", HAProxyOptions{}, time.Second, zaptest.NewLogger(t)); err == nil {
		t.Error("a config path in a missing directory: no error")
	}
}
