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
	if adminLn != nil {
		hs := &http.Server{Handler: p.AdminHandler(), ErrorLog: zap.NewStdLog(log.Named("lb_admin"))}
		g.Go(func() error {
			if err := hs.Serve(adminLn); !errors.Is(err, http.ErrServerClosed) {
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
