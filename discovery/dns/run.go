package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Run serves DNS on pc (UDP) and ln (TCP), the HTTP API on httpLn (nil: none), and keeps the
// zone current from src, until ctx ends.
func (s *Server) Run(ctx context.Context, src Source, version string, pc net.PacketConn, ln, httpLn net.Listener) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var serial uint32
		return src.Run(ctx, func(st *State) {
			serial++
			z := Records(st, s.cfg.Masters, s.cfg, serial)
			old := s.zone.Swap(z)
			if old.Len() != z.Len() {
				s.log.Info("zone updated", zap.Int("names", z.Len()), zap.Uint32("serial", serial))
			}
		})
	})
	g.Go(func() error { return s.ServeDNSConns(ctx, pc, ln) })
	if httpLn != nil {
		hs := &http.Server{Handler: s.HTTPHandler(version)}
		g.Go(func() error {
			if err := hs.Serve(httpLn); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-ctx.Done()
			return hs.Close()
		})
	}
	return g.Wait()
}

// Listen opens the UDP socket and the TCP listener of a DNS server on ip:port; port 0 picks
// a port that is free for both.
func Listen(ip string, port int) (net.PacketConn, net.Listener, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, fmt.Errorf("dns: listen udp: %w", err)
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(p)))
		if err == nil {
			return pc, ln, nil
		}
		pc.Close()
		lastErr = err
		if port != 0 {
			break
		}
	}
	return nil, nil, fmt.Errorf("dns: listen tcp: %w", lastErr)
}
