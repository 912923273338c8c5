package lb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/agoracluster/agora/client"
	"github.com/agoracluster/agora/security/authn"
)

// Feed follows Marathon and yields a new Table for the configured group whenever the
// routing may have changed.
type Feed struct {
	cfg       Config
	log       *zap.Logger
	marathons []string
	hc        *http.Client
}

// NewFeed returns a feed of cfg.Marathons for cfg.Group.
func NewFeed(cfg Config, log *zap.Logger) (*Feed, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f := &Feed{cfg: cfg, log: log.Named("lb_feed"), hc: &http.Client{}}
	if cfg.MarathonTLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = cfg.MarathonTLS
		f.hc.Transport = tr
	}
	f.hc = authn.Client(f.hc, cfg.MarathonCredential)
	for _, m := range cfg.Marathons {
		u, _ := client.NormalizeURL(m) // checked by Validate
		f.marathons = append(f.marathons, u)
	}
	return f, nil
}

// Run follows Marathon until ctx ends, calling update (from one goroutine) with every new
// Table. On each connection it reads the apps with their tasks, then applies the event
// stream to them; when a Marathon fails it tries the next, waiting from BackoffMin up to
// BackoffMax between failures.
func (f *Feed) Run(ctx context.Context, update func(Table)) error {
	backoff := f.cfg.BackoffMin
	var lastWarns map[string]bool
	publish := func(apps []App) {
		t, warns := Build(apps, f.cfg.Group)
		seen := map[string]bool{}
		for _, w := range warns {
			seen[w.String()] = true
			if !lastWarns[w.String()] {
				f.log.Warn("label ignored", zap.String("app_id", w.AppID), zap.String("label", w.Label), zap.String("reason", w.Reason))
			}
		}
		lastWarns = seen
		update(t)
	}
	for i := 0; ; i = (i + 1) % len(f.marathons) {
		base := f.marathons[i]
		streamed, err := f.follow(ctx, base, publish)
		if ctx.Err() != nil {
			return nil
		}
		if streamed {
			backoff = f.cfg.BackoffMin
		}
		f.log.Warn("marathon event stream lost; trying the next marathon", zap.String("marathon", base), zap.Duration("backoff", backoff), zap.Error(err))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(2*backoff, f.cfg.BackoffMax)
	}
}

// follow attaches to base's event stream, reads a snapshot, and applies the events until the
// stream or a snapshot read fails; streamed reports whether it got as far as a snapshot.
func (f *Feed) follow(ctx context.Context, base string, publish func([]App)) (streamed bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/events", nil)
	if err != nil {
		return false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := f.hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("GET /v2/events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return false, fmt.Errorf("GET /v2/events: %s: %s", resp.Status, b)
	}
	f.log.Info("following marathon events", zap.String("marathon", base))

	events := make(chan Event, 256)
	streamErr := make(chan error, 1)
	body := newIdleReader(resp.Body, f.cfg.StreamIdleTimeout)
	defer body.stop()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer resp.Body.Close()
		err := f.readEvents(ctx, body, events)
		if body.timedOut.Load() {
			err = fmt.Errorf("silent for %s: %w", f.cfg.StreamIdleTimeout, err)
		}
		streamErr <- err
	}()
	wg.Add(1)
	go func() { // unblocks the reader when follow returns
		defer wg.Done()
		<-ctx.Done()
		resp.Body.Close()
	}()

	type fetched struct {
		apps []App
		err  error
	}
	fetchDone := make(chan fetched, 1)
	fetching := false
	startFetch := func() {
		fetching = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			apps, err := f.fetchApps(ctx, base)
			fetchDone <- fetched{apps, err}
		}()
	}
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	armed, again := false, false
	arm := func() {
		if !armed {
			armed = true
			debounce.Reset(f.cfg.Debounce)
		}
	}

	var apps *Apps
	var pending []Event // events received while a snapshot is read, applied to it after
	startFetch()
	for {
		select {
		case err := <-streamErr:
			return streamed, fmt.Errorf("event stream: %w", err)
		case ev := <-events:
			if fetching {
				pending = append(pending, ev)
				continue
			}
			eff := apps.Apply(ev)
			if eff.Changed {
				publish(apps.List())
			}
			if eff.Refetch {
				arm()
			}
		case <-debounce.C:
			armed = false
			if fetching {
				again = true
			} else {
				startFetch()
			}
		case r := <-fetchDone:
			fetching = false
			if r.err != nil {
				return streamed, r.err
			}
			streamed = true
			apps = NewApps(r.apps)
			refetch := again
			again = false
			for _, ev := range pending {
				refetch = apps.Apply(ev).Refetch || refetch
			}
			pending = pending[:0]
			publish(apps.List())
			if refetch {
				arm()
			}
		}
	}
}

// readEvents decodes the stream's events into out until it ends or ctx ends.
func (f *Feed) readEvents(ctx context.Context, body io.Reader, out chan<- Event) error {
	r := newSSEReader(body)
	for {
		name, data, err := r.next()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == io.EOF {
				return errors.New("closed by marathon")
			}
			return err
		}
		ev, err := DecodeEvent(name, data)
		if err != nil {
			f.log.Warn("event ignored", zap.String("event_type", name), zap.Error(err))
			continue
		}
		select {
		case out <- ev:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// fetchApps reads /v2/apps?embed=apps.tasks.
func (f *Feed) fetchApps(ctx context.Context, base string) ([]App, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/apps?embed=apps.tasks", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /v2/apps: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET /v2/apps: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /v2/apps: %s: %s", resp.Status, body[:min(len(body), 512)])
	}
	return DecodeApps(body)
}

// idleReader closes its body when no byte has come for timeout, so that a stream whose
// connection died silently ends.
type idleReader struct {
	body     io.ReadCloser
	timeout  time.Duration
	timer    *time.Timer
	timedOut atomic.Bool
}

func newIdleReader(body io.ReadCloser, timeout time.Duration) *idleReader {
	r := &idleReader{body: body, timeout: timeout}
	r.timer = time.AfterFunc(timeout, func() {
		r.timedOut.Store(true)
		body.Close()
	})
	return r
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if n > 0 {
		r.timer.Reset(r.timeout)
	}
	return n, err
}

func (r *idleReader) stop() { r.timer.Stop() }
