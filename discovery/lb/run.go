package lb

import (
	"context"
	"errors"
	"net"
	"net/http"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Run is `agora lb`: it follows cfg.Marathons and serves the group's service ports on
// cfg.IP, its virtual hosts on httpLn (nil: none) and the admin API on adminLn (nil: none),
// until ctx ends.
func Run(ctx context.Context, cfg Config, log *zap.Logger, httpLn, adminLn net.Listener) error {
	p, err := NewProxy(cfg, log)
	if err != nil {
		return err
	}
	feed, err := NewFeed(cfg, log)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return p.Run(ctx, httpLn) })
	g.Go(func() error { return feed.Run(ctx, p.Update) })
	serveAdmin(ctx, g, adminLn, p.AdminHandler(), log)
	return g.Wait()
}

// RunHAProxy is `agora lb --haproxy`: it follows cfg.Marathons and keeps w's HAProxy
// configuration current instead of proxying, and serves the admin API on adminLn (nil:
// none), until ctx ends.
func RunHAProxy(ctx context.Context, cfg Config, log *zap.Logger, w *HAProxyWriter, adminLn net.Listener) error {
	feed, err := NewFeed(cfg, log)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return feed.Run(ctx, func(t Table) { w.Update(ctx, t) }) })
	serveAdmin(ctx, g, adminLn, w.AdminHandler(), log)
	return g.Wait()
}

func serveAdmin(ctx context.Context, g *errgroup.Group, ln net.Listener, h http.Handler, log *zap.Logger) {
	if ln == nil {
		return
	}
	hs := &http.Server{Handler: h, ErrorLog: zap.NewStdLog(log.Named("lb_admin"))}
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		return hs.Close()
	})
}
