package dns

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	mdns "github.com/miekg/dns"
	"go.uber.org/zap"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenState decodes testdata/state.json and resolves its agents as the Poller would,
// with a fixed table instead of DNS.
func goldenState(t testing.TB) *State {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := DecodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	p := &Poller{LookupHost: func(_ context.Context, host string) ([]string, error) {
		if host == "agent-1.example" {
			return []string{"10.0.1.11"}, nil
		}
		return nil, &mdnsNotFound{host}
	}}
	p.log = zap.NewNop()
	p.resolveAgents(context.Background(), st)
	return st
}

type mdnsNotFound struct{ host string }

func (e *mdnsNotFound) Error() string { return "no such host " + e.host }

func TestRecordsGolden(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Masters = []string{"10.0.0.1:5050", "10.0.0.2:5050", "zk-host:5050"}
	got := Records(goldenState(t), cfg.Masters, cfg, 7).String()
	path := filepath.Join("testdata", "zone.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("zone differs from %s (run with -update and review the diff):\n%s", path, got)
	}
}

func TestRecordsNaming(t *testing.T) {
	cfg := DefaultConfig()
	z := Records(goldenState(t), nil, cfg, 1)
	tests := []struct {
		name  string
		qtype uint16
		want  []string // record data, in order
	}{
		{"cart-shop.marathon.mesos.", mdns.TypeA, []string{"10.0.1.10", "10.0.1.11"}},
		{"CART-SHOP.Marathon.Mesos.", mdns.TypeA, []string{"10.0.1.10", "10.0.1.11"}},
		{"cart-shop.marathon.slave.mesos.", mdns.TypeA, []string{"10.0.1.10", "10.0.1.11"}},
		{"_cart-shop._tcp.marathon.mesos.", mdns.TypeSRV, []string{"31005", "31000", "31001"}}, // by target, then port
		{"_cart-shop._udp.marathon.mesos.", mdns.TypeSRV, []string{"31005", "31000", "31001"}}, // by target, then port
		{"nightly-report.my.batch-fw.mesos.", mdns.TypeA, []string{"10.0.1.11"}},
		{"leader.mesos.", mdns.TypeA, []string{"10.0.0.1"}},
		{"master.mesos.", mdns.TypeA, []string{"10.0.0.1"}},
		{"_leader._tcp.mesos.", mdns.TypeSRV, []string{"5050"}},
		{"slave.mesos.", mdns.TypeA, []string{"10.0.1.10", "10.0.1.11"}},
		{"agent.mesos.", mdns.TypeA, []string{"10.0.1.10", "10.0.1.11"}},
		{"mesos.", mdns.TypeSOA, []string{"ns1.mesos."}},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+mdns.TypeToString[tt.qtype], func(t *testing.T) {
			rrs, ok := z.Lookup(tt.name, tt.qtype)
			if !ok {
				t.Fatalf("%s not in the zone", tt.name)
			}
			var got []string
			for _, rr := range rrs {
				got = append(got, rrData(rr))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	for _, absent := range []string{
		"web-server.marathon.mesos.", // staging
		"web.marathon.mesos.",        // killed
		"lost.marathon.mesos.",       // agent without an IP
		"gone.marathon.mesos.",       // unknown agent
		"x.mesos.",                   // framework name without a valid label
	} {
		if _, ok := z.Lookup(absent, mdns.TypeA); ok {
			t.Errorf("%s is in the zone; want it left out", absent)
		}
	}
}

func rrData(rr mdns.RR) string {
	switch r := rr.(type) {
	case *mdns.A:
		return r.A.String()
	case *mdns.SRV:
		return itoa(r.Port)
	case *mdns.SOA:
		return r.Ns
	}
	return rr.String()
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

func TestLabel(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cart.shop", "cart-shop"},
		{"Web_Server", "web-server"},
		{"--edge--", "edge"},
		{"ünïcode", "n--code"},
		{"...", ""},
		{strings.Repeat("a", 62) + "-b", strings.Repeat("a", 62)},
		{strings.Repeat("x", 70), strings.Repeat("x", 63)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := label(tt.in); got != tt.want {
				t.Errorf("label(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestTaskPorts(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"[31000-31002, 31005-31005]", "[31000 31001 31002 31005]"},
		{"[]", "[]"},
		{"[5-3, x-y, 70000-70001]", "[]"},
		{nil, "[]"},
		{2.0, "[]"},
	}
	for _, tt := range tests {
		task := Task{Resources: map[string]any{"ports": tt.in}}
		if got := fmtPorts(task.ports()); got != tt.want {
			t.Errorf("ports(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func fmtPorts(ps []uint16) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = itoa(p)
	}
	return "[" + strings.Join(s, " ") + "]"
}
