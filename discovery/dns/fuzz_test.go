package dns

import (
	"net"
	"testing"

	mdns "github.com/miekg/dns"
	"go.uber.org/zap"
)

// recorder is a ResponseWriter that keeps the answer.
type recorder struct {
	remote net.Addr
	msg    *mdns.Msg
}

func (r *recorder) LocalAddr() net.Addr        { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (r *recorder) RemoteAddr() net.Addr       { return r.remote }
func (r *recorder) WriteMsg(m *mdns.Msg) error { r.msg = m; _, err := m.Pack(); return err }
func (r *recorder) Write([]byte) (int, error)  { return 0, nil }
func (r *recorder) Close() error               { return nil }
func (r *recorder) TsigStatus() error          { return nil }
func (r *recorder) TsigTimersOnly(bool)        {}
func (r *recorder) Hijack()                    {}

// FuzzServeDNS feeds raw packets to the query path as the UDP and TCP servers would (a
// packet that does not unpack is answered FORMERR by the library before the handler): every
// query gets exactly one answer that packs, with the query's id, within the UDP size limit.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"cart-shop.marathon.mesos.", mdns.TypeA}, {"_big._tcp.marathon.mesos.", mdns.TypeSRV}, {"example.com.", mdns.TypeA}, {"mesos.", mdns.TypeANY}} {
		m := new(mdns.Msg)
		m.SetQuestion(q.name, q.qtype)
		raw, _ := m.Pack()
		f.Add(raw)
		m.SetEdns0(1232, true)
		raw, _ = m.Pack()
		f.Add(raw)
	}
	f.Add([]byte{0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff})
	cfg := DefaultConfig()
	cfg.Masters = []string{"127.0.0.1:5050"}
	s, err := NewServer(cfg, zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	st := bigState(60)
	st.Slaves = append(st.Slaves, goldenState(f).Slaves...)
	st.Frameworks = append(st.Frameworks, goldenState(f).Frameworks...)
	s.SetZone(Records(st, cfg.Masters, cfg, 1))
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := new(mdns.Msg)
		if err := req.Unpack(raw); err != nil {
			return
		}
		for _, remote := range []net.Addr{&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}} {
			w := &recorder{remote: remote}
			s.ServeDNS(w, req)
			if w.msg == nil {
				t.Fatalf("no answer to %v", req)
			}
			if w.msg.Id != req.Id || !w.msg.Response {
				t.Fatalf("answer id %d response %v, query id %d", w.msg.Id, w.msg.Response, req.Id)
			}
			packed, err := w.msg.Pack()
			if err != nil {
				t.Fatalf("answer does not pack: %v", err)
			}
			if _, udp := remote.(*net.UDPAddr); udp && req.IsEdns0() == nil && len(packed) > mdns.MinMsgSize {
				t.Fatalf("UDP answer of %d bytes to a query without EDNS0", len(packed))
			}
		}
	})
}
