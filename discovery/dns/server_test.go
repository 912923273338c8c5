package dns

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	mdns "github.com/miekg/dns"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// startServer serves cfg's zone built from st on loopback and returns its address.
func startServer(t testing.TB, cfg Config, st *State, log *zap.Logger) (*Server, string) {
	t.Helper()
	if len(cfg.Masters) == 0 {
		cfg.Masters = []string{"127.0.0.1:5050"}
	}
	s, err := NewServer(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	s.SetZone(Records(st, cfg.Masters, cfg, 1))
	pc, ln, err := Listen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.ServeDNSConns(ctx, pc, ln); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return s, pc.LocalAddr().String()
}

func query(t testing.TB, network, addr, name string, qtype uint16, edit ...func(*mdns.Msg)) *mdns.Msg {
	t.Helper()
	m := new(mdns.Msg)
	m.SetQuestion(name, qtype)
	for _, e := range edit {
		e(m)
	}
	c := &mdns.Client{Net: network}
	resp, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, mdns.TypeToString[qtype], err)
	}
	return resp
}

// bigState has one app of n tasks on distinct agents, each with one port.
func bigState(n int) *State {
	st := &State{Leader: "master@127.0.0.1:5050"}
	fw := Framework{ID: "fw", Name: "marathon"}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("agent-S%d", i)
		st.Slaves = append(st.Slaves, Agent{ID: id, Hostname: fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)})
		fw.Tasks = append(fw.Tasks, Task{ID: fmt.Sprintf("big.%d", i), Name: "big", SlaveID: id, State: "TASK_RUNNING",
			Resources: map[string]any{"ports": fmt.Sprintf("[%d-%d]", 31000+i, 31000+i)}})
	}
	st.Frameworks = []Framework{fw}
	return st
}

func TestServerAnswers(t *testing.T) {
	_, addr := startServer(t, DefaultConfig(), goldenState(t), zaptest.NewLogger(t))
	tests := []struct {
		network, name string
		qtype         uint16
		rcode         int
		answers       int
		authority     bool // SOA in the authority section
	}{
		{"udp", "cart-shop.marathon.mesos.", mdns.TypeA, mdns.RcodeSuccess, 2, false},
		{"tcp", "cart-shop.marathon.mesos.", mdns.TypeA, mdns.RcodeSuccess, 2, false},
		{"udp", "_cart-shop._tcp.marathon.mesos.", mdns.TypeSRV, mdns.RcodeSuccess, 3, false},
		{"udp", "cart-shop.marathon.mesos.", mdns.TypeAAAA, mdns.RcodeSuccess, 0, true},
		{"udp", "cart-shop.marathon.mesos.", mdns.TypeANY, mdns.RcodeSuccess, 2, false},
		{"udp", "nope.marathon.mesos.", mdns.TypeA, mdns.RcodeNameError, 0, true},
		{"tcp", "nope.mesos.", mdns.TypeSRV, mdns.RcodeNameError, 0, true},
		{"udp", "example.com.", mdns.TypeA, mdns.RcodeRefused, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.network+"/"+tt.name+"/"+mdns.TypeToString[tt.qtype], func(t *testing.T) {
			resp := query(t, tt.network, addr, tt.name, tt.qtype)
			if resp.Rcode != tt.rcode {
				t.Errorf("rcode %s, want %s", mdns.RcodeToString[resp.Rcode], mdns.RcodeToString[tt.rcode])
			}
			if len(resp.Answer) != tt.answers {
				t.Errorf("%d answers, want %d: %v", len(resp.Answer), tt.answers, resp.Answer)
			}
			_, soa := firstOrNil(resp.Ns).(*mdns.SOA)
			if soa != tt.authority {
				t.Errorf("SOA in authority: %v, want %v (%v)", soa, tt.authority, resp.Ns)
			}
		})
	}
}

func firstOrNil(rrs []mdns.RR) mdns.RR {
	if len(rrs) == 0 {
		return nil
	}
	return rrs[0]
}

func TestServerSRVAdditional(t *testing.T) {
	_, addr := startServer(t, DefaultConfig(), goldenState(t), zaptest.NewLogger(t))
	resp := query(t, "udp", addr, "_cart-shop._tcp.marathon.mesos.", mdns.TypeSRV)
	if !resp.Authoritative {
		t.Error("answer not authoritative")
	}
	var extra []string
	for _, rr := range resp.Extra {
		if a, ok := rr.(*mdns.A); ok {
			extra = append(extra, a.Hdr.Name+"="+a.A.String())
		}
	}
	if len(extra) == 0 {
		t.Errorf("no A records of the SRV targets in the additional section: %v", resp.Extra)
	}
}

func TestServerTruncation(t *testing.T) {
	_, addr := startServer(t, DefaultConfig(), bigState(100), zaptest.NewLogger(t))
	name := "_big._tcp.marathon.mesos."
	udp := query(t, "udp", addr, name, mdns.TypeSRV)
	if !udp.Truncated {
		t.Errorf("UDP answer of %d records not truncated", len(udp.Answer))
	}
	if len(udp.Answer) >= 100 {
		t.Errorf("UDP answer has %d records, want fewer than 100", len(udp.Answer))
	}
	udp.Compress = true
	if n := udp.Len(); n > mdns.MinMsgSize {
		t.Errorf("UDP answer is %d bytes, over 512", n)
	}
	edns := query(t, "udp", addr, name, mdns.TypeSRV, func(m *mdns.Msg) { m.SetEdns0(4096, false) })
	if len(edns.Answer) <= len(udp.Answer) {
		t.Errorf("EDNS0 4096 answer has %d records, want more than the 512-byte answer's %d", len(edns.Answer), len(udp.Answer))
	}
	if edns.IsEdns0() == nil {
		t.Error("EDNS0 query answered without OPT")
	}
	tcp := query(t, "tcp", addr, name, mdns.TypeSRV)
	if tcp.Truncated || len(tcp.Answer) != 100 {
		t.Errorf("TCP answer: truncated %v, %d records, want the full 100", tcp.Truncated, len(tcp.Answer))
	}
}

func TestServerFormErr(t *testing.T) {
	_, addr := startServer(t, DefaultConfig(), goldenState(t), zaptest.NewLogger(t))
	tests := []struct {
		name string
		edit func(*mdns.Msg)
	}{
		{"no question", func(m *mdns.Msg) { m.Question = nil }},
		{"two questions", func(m *mdns.Msg) { m.Question = append(m.Question, m.Question[0]) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := query(t, "udp", addr, "leader.mesos.", mdns.TypeA, tt.edit)
			if resp.Rcode != mdns.RcodeFormatError {
				t.Errorf("rcode %s, want FORMERR", mdns.RcodeToString[resp.Rcode])
			}
		})
	}
	// Garbage after a valid header: the server answers FORMERR rather than crashing.
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw := []byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff}
	if _, err := conn.Write(raw); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	var resp mdns.Msg
	if err := resp.Unpack(buf[:n]); err != nil {
		t.Fatal(err)
	}
	if resp.Id != 0x1234 || resp.Rcode != mdns.RcodeFormatError {
		t.Errorf("malformed query: id %#x rcode %s, want 0x1234 FORMERR", resp.Id, mdns.RcodeToString[resp.Rcode])
	}
	// The server still answers.
	if got := query(t, "udp", addr, "leader.mesos.", mdns.TypeA); len(got.Answer) != 1 {
		t.Errorf("after a malformed query: %v", got)
	}
}

// upstream is an in-test DNS server that answers every A query with 192.0.2.1.
func upstream(t *testing.T) string {
	t.Helper()
	h := mdns.HandlerFunc(func(w mdns.ResponseWriter, r *mdns.Msg) {
		m := new(mdns.Msg)
		m.SetReply(r)
		m.RecursionAvailable = true
		m.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: r.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: net.IPv4(192, 0, 2, 1)}}
		_ = w.WriteMsg(m)
	})
	pc, ln, err := Listen("127.0.0.1", 0)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{}, 2)
	us := &mdns.Server{PacketConn: pc, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }}
	ts := &mdns.Server{Listener: ln, Handler: h, NotifyStartedFunc: func() { started <- struct{}{} }}
	var wg sync.WaitGroup
	for _, s := range []*mdns.Server{us, ts} {
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.ActivateAndServe() }()
	}
	<-started
	<-started
	t.Cleanup(func() { _ = us.Shutdown(); _ = ts.Shutdown(); wg.Wait() })
	return pc.LocalAddr().String()
}

func TestServerForwards(t *testing.T) {
	up := upstream(t)
	cfg := DefaultConfig()
	cfg.Resolvers = []string{"127.0.0.1:1", up} // the first refuses: the next is asked
	cfg.ForwardTimeout = 2e9
	_, addr := startServer(t, cfg, goldenState(t), zaptest.NewLogger(t))
	for _, network := range []string{"udp", "tcp"} {
		resp := query(t, network, addr, "www.example.com.", mdns.TypeA)
		if resp.Rcode != mdns.RcodeSuccess || len(resp.Answer) != 1 || resp.Answer[0].(*mdns.A).A.String() != "192.0.2.1" {
			t.Errorf("%s: forwarded answer %v", network, resp)
		}
	}
	noRD := query(t, "udp", addr, "www.example.com.", mdns.TypeA, func(m *mdns.Msg) { m.RecursionDesired = false })
	if noRD.Rcode != mdns.RcodeRefused {
		t.Errorf("without RD: rcode %s, want REFUSED", mdns.RcodeToString[noRD.Rcode])
	}
	// Names in the domain are never forwarded.
	if resp := query(t, "udp", addr, "nope.mesos.", mdns.TypeA); resp.Rcode != mdns.RcodeNameError {
		t.Errorf("in-domain miss forwarded: %v", resp)
	}
}

func TestHTTPAPI(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Masters = []string{"127.0.0.1:5050"}
	s, err := NewServer(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s.SetZone(Records(goldenState(t), nil, cfg, 1))
	h := s.HTTPHandler("test")
	tests := []struct{ path, want string }{
		{"/v1/hosts/cart-shop.marathon.mesos", `[{"host":"cart-shop.marathon.mesos.","ip":"10.0.1.10"},{"host":"cart-shop.marathon.mesos.","ip":"10.0.1.11"}]`},
		{"/v1/hosts/nope.mesos", `[{"host":"","ip":""}]`},
		{"/v1/services/_cart-shop._tcp.marathon.mesos", `[{"service":"_cart-shop._tcp.marathon.mesos.","host":"cart-shop-1ofw4rk-s1.marathon.slave.mesos.","ip":"10.0.1.11","port":"31005"},{"service":"_cart-shop._tcp.marathon.mesos.","host":"cart-shop-1p9uxuh-s0.marathon.slave.mesos.","ip":"10.0.1.10","port":"31000"},{"service":"_cart-shop._tcp.marathon.mesos.","host":"cart-shop-1p9uxuh-s0.marathon.slave.mesos.","ip":"10.0.1.10","port":"31001"}]`},
		{"/v1/services/_nope._tcp.mesos", `[{"service":"","host":"","ip":"","port":""}]`},
		{"/v1/version", `{"Service":"agora dns","URL":"https://github.com/agoracluster/agora","Version":"test"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", tt.path, nil))
			if got := strings.TrimSpace(rec.Body.String()); got != tt.want {
				t.Errorf("GET %s = %d %s\nwant %s", tt.path, rec.Code, got, tt.want)
			}
		})
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/config", nil))
	var got Config
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got.Domain != "mesos" || got.Refresh != cfg.Refresh {
		t.Errorf("GET /v1/config = %s (%v)", rec.Body, err)
	}
}
