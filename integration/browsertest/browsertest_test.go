package browsertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agoracluster/agora/internal/poll"
)

// The helper sees what a page computes and the errors it writes to the console.
func TestBrowserEvaluatesAndRecordsErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<!doctype html><body><p id="p">ready</p><script>
			console.log("fine");
			console.error("broken", 42);
			setTimeout(() => { document.getElementById("p").textContent = "later"; }, 50);
		</script></body>`)
	}))
	defer srv.Close()
	b := New(t)
	b.Do(t, chromedp.Navigate(srv.URL))
	b.WaitFor(t, 10*time.Second, `document.getElementById("p").textContent === "later"`, "the timer changes the text")
	if got := Eval[int](t, b, `Promise.resolve(20 + 22)`); got != 42 {
		t.Errorf("Eval = %d, want 42", got)
	}
	var errs []string
	poll.Eventually(t, 10*time.Second, func() bool {
		errs = b.Errors()
		return len(errs) > 0
	}, "the console error is recorded")
	if len(errs) != 1 || !strings.Contains(errs[0], "broken 42") {
		t.Errorf("Errors() = %q, want the one console.error", errs)
	}
}

// AnswerLogins answers the browser's login prompts as a user would, and records them.
func TestAnswerLogins(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || pass != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test-realm"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<!doctype html><link rel="icon" href="data:,"><body><p id="p">hello `+user+`</p></body>`)
	}))
	defer srv.Close()
	want := Challenge{URL: srv.URL + "/", Origin: srv.URL, Scheme: "basic", Realm: "test-realm"}

	for _, tc := range []struct {
		name   string
		login  Login
		status int
		text   string
	}{
		{"answered", Login{User: "ann", Password: "secret"}, http.StatusOK, "hello ann"},
		{"cancelled", Login{Cancel: true}, http.StatusUnauthorized, "who are you"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := New(t)
			b.AnswerLogins(t, func(Challenge) Login { return tc.login })
			if status := b.Navigate(t, srv.URL+"/"); status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			if got := Eval[string](t, b, `document.body.innerText`); !strings.Contains(got, tc.text) {
				t.Errorf("the page shows %q, want %q", got, tc.text)
			}
			if got := b.Challenges(); len(got) != 1 || got[0] != want {
				t.Errorf("Challenges() = %+v, want one: %+v", got, want)
			}
		})
	}
}
