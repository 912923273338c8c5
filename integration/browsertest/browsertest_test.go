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
