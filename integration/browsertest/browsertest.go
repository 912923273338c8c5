// Package browsertest drives Debian's Chromium, headless, from Go tests (through chromedp):
// it starts a browser for one test, records what the pages write to the console, evaluates
// JavaScript in them and waits for conditions. Without Chromium the test is skipped, and in CI
// (CI=true) it fails (hosttest.RequireChromium).
package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/agoracluster/agora/internal/hosttest"
	"github.com/agoracluster/agora/internal/poll"
)

// StepTimeout bounds one call into the browser.
const StepTimeout = 60 * time.Second

// Browser is one headless Chromium with one tab, closed when the test ends.
type Browser struct {
	ctx     context.Context
	workers sync.WaitGroup // the goroutines that answer the tab's requests (AnswerLogins)

	mu         sync.Mutex
	messages   []chromedp.ConsoleMessage
	challenges []Challenge
}

// New starts Chromium for t; it is closed, with its profile, when t ends.
func New(t testing.TB) *Browser {
	t.Helper()
	path := hosttest.RequireChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium's sandbox refuses to run as root
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{ctx: ctx}
	// Starting the browser and subscribing before the first page, so that no message is lost.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", path, err)
	}
	messages := chromedp.Console(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.messages = append(b.messages, m)
			b.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		b.workers.Wait()
		cancelAlloc()
	})
	return b
}

// Challenge is a login prompt the browser raised: an HTTP authentication challenge (a 401
// answer's WWW-Authenticate) for which it had no credentials of its own.
type Challenge struct {
	URL    string // the request that was answered with the challenge
	Origin string // the origin that challenged
	Scheme string // "basic", …
	Realm  string
}

// Login is how a prompt is answered: with credentials, or (Cancel) dismissed, after which
// the page gets the 401 answer.
type Login struct {
	User, Password string
	Cancel         bool
}

// AnswerLogins answers every login prompt of the tab from now on as a user would, with
// answer's Login; Challenges lists the prompts. (The tab's requests are intercepted for it
// and go on unchanged.)
func (b *Browser) AnswerLogins(t testing.TB, answer func(Challenge) Login) {
	t.Helper()
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	auths := chromedp.Events(b.ctx, fetch.AuthRequired)
	b.workers.Add(2)
	go func() {
		defer b.workers.Done()
		for ev, err := range paused {
			if err != nil {
				return
			}
			_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		defer b.workers.Done()
		for ev, err := range auths {
			if err != nil {
				return
			}
			c := Challenge{URL: ev.Request.URL}
			if ch := ev.AuthChallenge; ch != nil {
				c.Origin, c.Scheme, c.Realm = ch.Origin, ch.Scheme, ch.Realm
			}
			b.mu.Lock()
			b.challenges = append(b.challenges, c)
			b.mu.Unlock()
			resp := &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseCancelAuth}
			if l := answer(c); !l.Cancel {
				resp = &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials,
					Username: l.User, Password: l.Password}
			}
			_, _ = chromedp.Call(b.ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID, AuthChallengeResponse: resp})
		}
	}()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: ptr(true)}); err != nil {
		t.Fatalf("browser: intercept logins: %v", err)
	}
}

// Challenges returns the login prompts answered by AnswerLogins so far.
func (b *Browser) Challenges() []Challenge {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Challenge(nil), b.challenges...)
}

func ptr[T any](v T) *T { return &v }

// Do runs chromedp actions in the tab and fails the test on an error.
func (b *Browser) Do(t testing.TB, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// Navigate opens url in the tab, waits for the page to load and returns the status of its
// answer.
func (b *Browser) Navigate(t testing.TB, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url))
	if err != nil {
		t.Fatalf("browser: open %s: %v", url, err)
	}
	return int(resp.Status)
}

// Eval evaluates a JavaScript expression in the page (awaiting a promise) and decodes its value.
func Eval[T any](t testing.TB, b *Browser, expr string) T {
	t.Helper()
	v, err := b.eval(expr, new(T))
	if err != nil {
		t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return *v.(*T)
}

func (b *Browser) eval(expr string, out any) (any, error) {
	ctx, cancel := context.WithTimeout(b.ctx, StepTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, fmt.Errorf("decode %s: %w", raw, err)
	}
	return out, nil
}

// WaitFor evaluates a JavaScript expression until it is true, failing the test with what
// once timeout has passed. An expression that throws counts as false (the page may not have
// drawn the element yet); its last error is in the failure.
func (b *Browser) WaitFor(t testing.TB, timeout time.Duration, expr, what string) {
	t.Helper()
	poll.Eventually(t, timeout, func() error {
		var ok bool
		if _, err := b.eval(expr, &ok); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s is false", expr)
		}
		return nil
	}, "browser: %s; the page shows:\n%s", what, pageText{b})
}

// pageText prints the page's text when a failure message is formatted.
type pageText struct{ b *Browser }

func (p pageText) String() string {
	var text string
	if _, err := p.b.eval(`location.href + "\n" + document.body.innerText.slice(0, 4000)`, &text); err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return text
}

// Messages returns what the pages wrote to the console so far.
func (b *Browser) Messages() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.messages...)
}

// Errors returns the console's errors and uncaught exceptions so far, as text.
func (b *Browser) Errors() []string {
	var out []string
	for _, m := range b.Messages() {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			s := m.String()
			if m.URL != "" {
				s += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
			}
			out = append(out, s)
		}
	}
	return out
}
