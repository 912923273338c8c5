package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"

	mdns "github.com/miekg/dns"
	"go.uber.org/zap"
)

// Server answers DNS queries from the current Zone, which SetZone swaps in atomically:
// queries never lock.
type Server struct {
	cfg    Config
	origin string
	log    *zap.Logger
	zone   atomic.Pointer[Zone]
}

var _ mdns.Handler = (*Server)(nil)

// NewServer returns a server for cfg with an empty zone (SOA and NS only) until SetZone.
func NewServer(cfg Config, log *zap.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("dns: config: %w", err)
	}
	s := &Server{cfg: cfg, origin: cfg.fqdn(), log: log.Named("dns")}
	s.zone.Store(Records(&State{}, nil, cfg, 0))
	return s, nil
}

// SetZone makes z the zone that queries are answered from.
func (s *Server) SetZone(z *Zone) { s.zone.Store(z) }

// Zone returns the zone queries are answered from.
func (s *Server) Zone() *Zone { return s.zone.Load() }

// ServeDNS answers one query; it is the handler of the UDP and TCP servers.
func (s *Server) ServeDNS(w mdns.ResponseWriter, req *mdns.Msg) {
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	resp := s.respond(context.Background(), req, network)
	size := mdns.MaxMsgSize
	if network == "udp" {
		size = mdns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), mdns.MinMsgSize)
		}
	}
	if opt := req.IsEdns0(); opt != nil && resp.IsEdns0() == nil {
		resp.SetEdns0(uint16(min(size, mdns.MaxMsgSize)), false)
	}
	resp.Truncate(size)
	if err := w.WriteMsg(resp); err != nil {
		s.log.Debug("write answer", zap.Stringer("client", w.RemoteAddr()), zap.Error(err))
	}
}

// respond computes the answer to req (received over network "udp" or "tcp"), untruncated.
func (s *Server) respond(ctx context.Context, req *mdns.Msg, network string) *mdns.Msg {
	resp := new(mdns.Msg)
	if req.Opcode != mdns.OpcodeQuery {
		resp.SetRcode(req, mdns.RcodeNotImplemented)
		return resp
	}
	if len(req.Question) != 1 {
		resp.SetRcodeFormatError(req)
		return resp
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if _, ok := mdns.IsDomainName(name); !ok || !strings.HasSuffix(name, ".") {
		resp.SetRcodeFormatError(req)
		return resp
	}
	if !mdns.IsSubDomain(s.origin, name) {
		return s.forward(ctx, req, network)
	}
	resp.SetReply(req)
	resp.Authoritative = true
	resp.RecursionAvailable = s.recursion()
	if q.Qclass != mdns.ClassINET && q.Qclass != mdns.ClassANY {
		resp.Rcode = mdns.RcodeRefused
		return resp
	}
	z := s.zone.Load()
	rrs, ok := z.Lookup(name, q.Qtype)
	switch {
	case !ok:
		resp.Rcode = mdns.RcodeNameError
		resp.Ns = []mdns.RR{z.SOA}
	case len(rrs) == 0:
		resp.Ns = []mdns.RR{z.SOA}
	default:
		resp.Answer = withName(rrs, q.Name)
		for _, rr := range rrs {
			if srv, ok := rr.(*mdns.SRV); ok {
				extra, _ := z.Lookup(srv.Target, mdns.TypeA)
				resp.Extra = append(resp.Extra, extra...)
			}
		}
	}
	return resp
}

// withName returns rrs owned by name as the client spelled it (0x20 case randomisation).
func withName(rrs []mdns.RR, name string) []mdns.RR {
	if len(rrs) == 0 || rrs[0].Header().Name == name {
		return rrs
	}
	out := make([]mdns.RR, len(rrs))
	for i, rr := range rrs {
		c := mdns.Copy(rr)
		c.Header().Name = name
		out[i] = c
	}
	return out
}

func (s *Server) recursion() bool { return s.cfg.Recurse && len(s.cfg.Resolvers) > 0 }

// forward asks the upstream resolvers in turn for a name outside the domain; REFUSED when
// there are none or recursion is off or not desired, SERVFAIL when none answers.
func (s *Server) forward(ctx context.Context, req *mdns.Msg, network string) *mdns.Msg {
	if !s.recursion() || !req.RecursionDesired {
		resp := new(mdns.Msg)
		resp.SetRcode(req, mdns.RcodeRefused)
		resp.RecursionAvailable = s.recursion()
		return resp
	}
	c := &mdns.Client{Net: network, Timeout: s.cfg.ForwardTimeout, UDPSize: mdns.MaxMsgSize}
	var errs []error
	for _, r := range s.cfg.Resolvers {
		resp, _, err := c.ExchangeContext(ctx, req, r)
		if err == nil {
			resp.Id = req.Id
			return resp
		}
		errs = append(errs, fmt.Errorf("%s: %w", r, err))
	}
	s.log.Warn("forward", zap.String("name", req.Question[0].Name), zap.Error(errors.Join(errs...)))
	resp := new(mdns.Msg)
	resp.SetRcode(req, mdns.RcodeServerFailure)
	resp.RecursionAvailable = true
	return resp
}

// ServeDNSConns answers queries on the UDP socket pc and the TCP listener ln (either may be
// nil) until ctx ends.
func (s *Server) ServeDNSConns(ctx context.Context, pc net.PacketConn, ln net.Listener) error {
	var servers []*mdns.Server
	if pc != nil {
		servers = append(servers, &mdns.Server{PacketConn: pc, Handler: s, UDPSize: mdns.MaxMsgSize})
	}
	if ln != nil {
		servers = append(servers, &mdns.Server{Listener: ln, Handler: s})
	}
	errc := make(chan error, len(servers))
	started := make(chan struct{}, len(servers))
	for _, srv := range servers {
		srv.NotifyStartedFunc = func() { started <- struct{}{} }
		go func() { errc <- srv.ActivateAndServe() }()
	}
	// Shutdown fails on a server that has not started, so wait for them all first.
	var err error
	for i := 0; i < len(servers) && err == nil; i++ {
		select {
		case <-started:
		case err = <-errc:
		}
	}
	if err == nil {
		select {
		case <-ctx.Done():
		case err = <-errc:
		}
	}
	if err != nil {
		err = fmt.Errorf("dns: serve: %w", err)
	}
	for _, srv := range servers {
		_ = srv.Shutdown()
	}
	// Wait for every server's goroutine; the one that failed early has already sent.
	n := len(servers)
	if err != nil {
		n--
	}
	for i := 0; i < n; i++ {
		<-errc
	}
	return err
}
