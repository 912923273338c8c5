package integration

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/agoracluster/agora/integration/browsertest"
	"github.com/agoracluster/agora/integration/cluster"
	"github.com/agoracluster/agora/internal/poll"
	mesos "github.com/agoracluster/agora/proto/mesos/v1"
	"github.com/agoracluster/agora/security/credentials"
)

// TestWebUI opens the master's web UI in headless Chromium against a real master and agent:
// the page shows the agent and a running task, follows a task launched and another killed
// afterwards without a reload (from the SUBSCRIBE stream), tails the task's stdout from the
// agent's files API (across origins, by --access_control_allow_origin), lists the roles,
// and writes no error to the console.
func TestWebUI(t *testing.T) {
	c := cluster.New(t, cluster.Options{})
	masterURL := "http://" + c.Master.Addr
	// The page reaches the agent at its advertised hostname, which must resolve to where it
	// listens.
	agentProc := c.AddAgent("cpus:4;mem:2048;disk:1000;ports:[31000-31100]", "--hostname", "127.0.0.1",
		"--access_control_allow_origin", masterURL)
	f := c.StartFramework(cluster.FrameworkOptions{Name: "webui-test"})
	f.Launch(context.Background(), cluster.ShellTask("first", "mkdir -p logs && echo deep inside > logs/app.log; echo hello from the web ui; sleep 300", "cpus:0.1;mem:32"))
	f.WaitState("first", mesos.TaskState_TASK_RUNNING, 60*time.Second)
	fw := f.S.FrameworkID()

	b := browsertest.New(t)
	b.Do(t, chromedp.Navigate(masterURL+"/"))
	b.WaitFor(t, 30*time.Second, `document.getElementById("conn-status").dataset.state === "live"`, "the page subscribes to the master")
	// A mark that a reload would wipe out.
	browsertest.Eval[bool](t, b, `window.__sameDocument = true`)
	sameDocument := func(t *testing.T) {
		t.Helper()
		if !browsertest.Eval[bool](t, b, `window.__sameDocument === true && window.agoraUI.stats.subscriptions === 1`) {
			t.Fatal("the page was reloaded or resubscribed")
		}
	}

	t.Run("overview", func(t *testing.T) {
		b.WaitFor(t, 20*time.Second, `document.getElementById("overview-agents").textContent === "1"`, "one active agent in the overview")
		b.WaitFor(t, 20*time.Second, `document.querySelector('[data-state="TASK_RUNNING"]').textContent === "1"`, "one running task in the overview")
		b.WaitFor(t, 20*time.Second, `document.querySelector('.resources [data-resource="cpus"]').textContent.includes("0.1")`, "0.1 cpus used")
	})

	t.Run("agents", func(t *testing.T) {
		b.Do(t, chromedp.Navigate(masterURL+"/ui/#/agents"))
		b.WaitFor(t, 20*time.Second, fmt.Sprintf(`[...document.querySelectorAll("#agents tbody tr")].some((r) => r.textContent.includes(%q))`, agentProc.Addr),
			"the agents view lists the agent")
		sameDocument(t) // only the fragment changed
		agentLink := browsertest.Eval[string](t, b, `document.querySelector("#agents tbody a").getAttribute("href")`)
		b.Do(t, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, agentLink)))
		b.WaitFor(t, 20*time.Second, `document.querySelector('#agent-tasks tr[data-key$="/first"]') !== null`, "the agent's page lists its task")
	})

	taskRow := func(id string) string {
		return fmt.Sprintf(`document.querySelector('#tasks tr[data-key=%s]')`, strconv.Quote(fw+"/"+id))
	}
	stateOf := func(id, state string) string {
		return fmt.Sprintf(`(%s || {textContent: ""}).textContent.includes(%q)`, taskRow(id), state)
	}

	t.Run("tasks follow the stream", func(t *testing.T) {
		b.Do(t, chromedp.Evaluate[chromedp.Void](`location.hash = "#/tasks"`))
		b.WaitFor(t, 20*time.Second, stateOf("first", "RUNNING"), "the running task is listed")
		f.Launch(context.Background(), cluster.ShellTask("second", "sleep 300", "cpus:0.1;mem:32"))
		b.WaitFor(t, 60*time.Second, stateOf("second", "RUNNING"), "a task launched later appears, running")
		sameDocument(t)
		st := f.Latest("second")
		if err := f.S.Kill(context.Background(), st.GetTaskId(), st.GetAgentId()); err != nil {
			t.Fatal(err)
		}
		b.WaitFor(t, 60*time.Second, stateOf("second", "KILLED"), "the killed task shows as killed")
		sameDocument(t)
		// The filter box narrows the table.
		b.Do(t, chromedp.SendKeys("#tasks-filter", "second"))
		b.WaitFor(t, 10*time.Second, `document.getElementById("tasks-count").textContent === "1 of 2 tasks"`, "the filter leaves one task")
	})

	t.Run("frameworks", func(t *testing.T) {
		b.Do(t, chromedp.Evaluate[chromedp.Void](`location.hash = "#/frameworks"`))
		row := fmt.Sprintf(`document.querySelector('#frameworks tr[data-key=%s]')`, strconv.Quote(fw))
		b.WaitFor(t, 20*time.Second, fmt.Sprintf(`(%s || {textContent: ""}).textContent.includes("webui-test")`, row), "the framework is listed")
		if got := browsertest.Eval[string](t, b, row+`.cells[5].textContent`); got != "1" {
			t.Errorf("active tasks of the framework = %q, want 1 (the other was killed)", got)
		}
	})

	t.Run("sandbox", func(t *testing.T) {
		// Opened afresh on the task's page: the page learns of the task from the stream first.
		b.Do(t, chromedp.Navigate("about:blank"), chromedp.Navigate(masterURL+"/ui/#/tasks/"+url.PathEscape(fw)+"/first"))
		browsertest.Eval[bool](t, b, `window.__sameDocument = true`)
		b.WaitFor(t, 30*time.Second, `[...document.querySelectorAll("#sandbox-files a")].some((a) => a.textContent === "stdout")`, "the sandbox lists stdout")
		b.WaitFor(t, 30*time.Second, `document.getElementById("tail").textContent.includes("hello from the web ui")`, "the tail shows the task's output")
		// Into a directory of the sandbox, and one of its files followed.
		b.Do(t, chromedp.Click(`#sandbox-files a[data-dir$="/logs"]`))
		b.WaitFor(t, 30*time.Second, `document.querySelector('#sandbox-files a[data-file="logs/app.log"]') !== null`, "the directory lists its file")
		b.Do(t, chromedp.Click(`#sandbox-files a[data-file="logs/app.log"]`))
		b.WaitFor(t, 30*time.Second, `document.getElementById("tail").textContent.includes("deep inside")`, "the tail follows the chosen file")
		sameDocument(t)
	})

	// Marathon's apps and their launch queue, read from its REST API on its own origin.
	// Marathon lives as long as the page may read it: to the test's end.
	marathonPort := strconv.Itoa(cluster.FreePort(t))
	marathonDir := filepath.Join(t.TempDir(), "marathon")
	cluster.Start(t, "marathon", "127.0.0.1:"+marathonPort, marathonDir, "marathon", "--master", c.Master.Addr,
		"--http_port", marathonPort, "--http_address", "127.0.0.1", "--hostname", "127.0.0.1", "--work_dir", marathonDir,
		"--access_control_allow_origin", masterURL)
	t.Run("marathon apps", func(t *testing.T) {
		mc := marathonClient{t: t, base: "http://127.0.0.1:" + marathonPort}
		waitPing(t, mc)
		mc.must(http.MethodPost, "/v2/apps", `{"id":"/web","cmd":"sleep 300","cpus":0.1,"mem":16,"instances":1}`, http.StatusCreated, nil)
		mc.must(http.MethodPost, "/v2/apps", `{"id":"/huge","cmd":"sleep 300","cpus":1000,"mem":16}`, http.StatusCreated, nil)
		b.WaitFor(t, 30*time.Second, `[...window.agoraUI.state.frameworks.values()].some((f) => f.framework_info.name === "marathon")`, "Marathon registered")
		marathonID := browsertest.Eval[string](t, b,
			`[...window.agoraUI.state.frameworks.values()].find((f) => f.framework_info.name === "marathon").framework_info.id.value`)
		// Opened afresh on the framework's page, as a bookmark would.
		b.Do(t, chromedp.Navigate("about:blank"), chromedp.Navigate(masterURL+"/ui/#/frameworks/"+url.PathEscape(marathonID)))
		browsertest.Eval[bool](t, b, `window.__sameDocument = true`)
		b.WaitFor(t, 60*time.Second, `(document.querySelector('#apps tr[data-key="/web"]') || {textContent: ""}).textContent.includes("1 / 1")`,
			"the app is listed with its instance running")
		b.WaitFor(t, 60*time.Second, `(document.querySelector('#apps tr[data-key="/huge"]') || {textContent: ""}).textContent.includes("InsufficientCpus")`,
			"the app that does not fit says why it waits")
		sameDocument(t)
	})

	t.Run("roles", func(t *testing.T) {
		b.Do(t, chromedp.Evaluate[chromedp.Void](`location.hash = "#/roles"`))
		b.WaitFor(t, 20*time.Second, `document.querySelector('#roles tr[data-key="*"]') !== null`, "the framework's role is listed")
	})

	t.Run("unknown pages", func(t *testing.T) {
		for _, hash := range []string{"#/nope", "#/tasks/%E0%A4%A/x", "#/agents/a/b"} {
			b.Do(t, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, hash)))
			b.WaitFor(t, 10*time.Second, `document.querySelector("#main .error") !== null && document.querySelector("#main .error").textContent.startsWith("No page")`,
				"the page says there is no such page for "+hash)
		}
	})

	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("the console has errors:\n%s", strings.Join(errs, "\n"))
	}
	seen := len(b.Messages())

	// The stream ends with the master; the page subscribes again once it is back, and the
	// agent's re-registration brings the task back.
	t.Run("reconnects", func(t *testing.T) {
		b.Do(t, chromedp.Evaluate[chromedp.Void](`location.hash = "#/tasks"`))
		c.Master.Kill()
		b.WaitFor(t, 30*time.Second, `document.getElementById("conn-status").dataset.state !== "live"`, "the page sees the stream end")
		c.Master.Restart()
		b.WaitFor(t, 60*time.Second, `document.getElementById("conn-status").dataset.state === "live" && window.agoraUI.stats.subscriptions >= 2`,
			"the page subscribes again")
		b.WaitFor(t, 60*time.Second, stateOf("first", "RUNNING"), "the running task is listed again")
		if !browsertest.Eval[bool](t, b, `window.__sameDocument === true`) {
			t.Error("the page was reloaded")
		}
		// While the master was away the browser logged the refused connections; nothing else.
		for _, m := range b.Messages()[seen:] {
			if m.IsException() {
				t.Errorf("uncaught exception: %s", m)
			}
		}
	})
}

// TestWebUIFollowsTheLeader: with three masters in ZooKeeper, the UI opened at a standby is
// served by the leader, and an open page moves to the new leader when its master stops
// leading (killed, then back as a standby), subscribing there without anyone reloading it.
func TestWebUIFollowsTheLeader(t *testing.T) {
	zk := cluster.StartZooKeeper(t).URL("/agora")
	c := cluster.New(t, cluster.Options{ZooKeeper: zk, Masters: 3})
	leader, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	var standby *cluster.Process
	for _, p := range c.Masters {
		if p != leader {
			standby = p
			break
		}
	}
	b := browsertest.New(t)
	b.Do(t, chromedp.Navigate("http://"+standby.Addr+"/ui/#/agents"))
	live := `document.getElementById("conn-status").dataset.state === "live"`
	b.WaitFor(t, 30*time.Second, fmt.Sprintf(`location.host === %q && location.hash === "#/agents" && %s`, leader.Addr, live),
		"the standby sends the page to the leader")

	leader.Kill()
	poll.Eventually(t, 60*time.Second, func() error {
		l, err := c.Leader()
		if err == nil && l == leader {
			return fmt.Errorf("%s still leads", l.Addr)
		}
		return err
	}, "another master leads")
	leader.Restart() // back as a standby, its origin answers again and names the leader
	next, err := c.Leader()
	if err != nil {
		t.Fatal(err)
	}
	b.WaitFor(t, 60*time.Second, fmt.Sprintf(`location.host === %q && location.hash === "#/agents" && %s`, next.Addr, live),
		"the page moves to the new leader")
	for _, m := range b.Messages() {
		if m.IsException() {
			t.Errorf("uncaught exception: %s", m)
		}
	}
}

// TestWebUIWithReadOnlyAuthentication opens the web UI of a master that wants credentials
// for every read (--authenticate_http_readonly): without credentials the browser is asked
// for them (a Basic challenge naming the realm) and, refused, shows the 401 answer rather
// than a page; with the prompt answered, or with the credentials in the URL, the page, its
// fetches and its SUBSCRIBE stream carry them and show the cluster, the browser asking
// once at most, and nothing is written to the console. The agent wants credentials too:
// the task's sandbox view asks for them in the page (the browser keeps the master's to the
// master's origin), asks again when they are refused, keeps them in sessionStorage only,
// and then lists the sandbox and tails the task's stdout.
func TestWebUIWithReadOnlyAuthentication(t *testing.T) {
	creds := writeFiles(t, t.TempDir(), map[string]string{
		"credentials.json": `{"credentials": [{"principal": "ops", "secret": "ops-secret"}]}`,
	})["credentials.json"]
	c := cluster.New(t, cluster.Options{ClientCredential: credentials.Credential{Principal: "ops", Secret: "ops-secret"},
		MasterArgs: []string{"--credentials", creds, "--authenticate_http_readonly", "--authenticate_http_readwrite"}})
	host := c.Master.Addr
	agent := c.AddAgent("cpus:4;mem:2048;disk:1000;ports:[31000-31100]", "--hostname", "127.0.0.1",
		"--http_credentials", creds, "--authenticate_http_readonly", "--authenticate_http_readwrite",
		"--access_control_allow_origin", "http://"+host)
	f := c.StartFramework(cluster.FrameworkOptions{Name: "webui-auth"})
	f.Launch(context.Background(), cluster.ShellTask("guarded", "echo hello from a guarded sandbox; sleep 300", "cpus:0.1;mem:32"))
	f.WaitState("guarded", mesos.TaskState_TASK_RUNNING, 60*time.Second)
	fw := f.S.FrameworkID()

	live := `document.getElementById("conn-status").dataset.state === "live"`
	showsCluster := func(t *testing.T, b *browsertest.Browser) {
		t.Helper()
		b.WaitFor(t, 30*time.Second, live, "the page subscribes to the master")
		b.WaitFor(t, 20*time.Second, `document.getElementById("overview-agents").textContent === "1"`, "one active agent in the overview")
		b.Do(t, chromedp.Evaluate[chromedp.Void](`location.hash = "#/tasks"`))
		b.WaitFor(t, 20*time.Second, fmt.Sprintf(`(document.querySelector('#tasks tr[data-key=%s]') || {textContent: ""}).textContent.includes("RUNNING")`,
			strconv.Quote(fw+"/guarded")), "the running task is listed")
		if errs := b.Errors(); len(errs) > 0 {
			t.Errorf("the console has errors:\n%s", strings.Join(errs, "\n"))
		}
	}

	t.Run("without credentials", func(t *testing.T) {
		b := browsertest.New(t)
		b.AnswerLogins(t, func(browsertest.Challenge) browsertest.Login { return browsertest.Login{Cancel: true} })
		if status := b.Navigate(t, "http://"+host+"/ui/"); status != http.StatusUnauthorized {
			t.Errorf("the page answered %d without credentials, want 401", status)
		}
		want := browsertest.Challenge{URL: "http://" + host + "/ui/", Origin: "http://" + host, Scheme: "basic", Realm: "mesos"}
		if got := b.Challenges(); len(got) != 1 || got[0] != want {
			t.Errorf("login prompts %+v, want one: %+v", got, want)
		}
		if !browsertest.Eval[bool](t, b, `document.getElementById("conn-status") === null && document.body.innerText.includes("no credentials")`) {
			t.Errorf("without credentials the browser shows a page, not the 401 answer")
		}
	})

	t.Run("the prompt answered", func(t *testing.T) {
		b := browsertest.New(t)
		b.AnswerLogins(t, func(browsertest.Challenge) browsertest.Login {
			return browsertest.Login{User: "ops", Password: "ops-secret"}
		})
		b.Navigate(t, "http://"+host+"/")
		showsCluster(t, b)
		if got := b.Challenges(); len(got) != 1 || got[0].Realm != "mesos" {
			t.Errorf("login prompts %+v, want one, for realm mesos", got)
		}
	})

	t.Run("credentials in the URL", func(t *testing.T) {
		b := browsertest.New(t)
		b.AnswerLogins(t, func(c browsertest.Challenge) browsertest.Login {
			t.Errorf("the browser asked for credentials at %s though the URL holds them", c.URL)
			return browsertest.Login{Cancel: true}
		})
		if status := b.Navigate(t, "http://ops:ops-secret@"+host+"/ui/"); status != http.StatusOK {
			t.Errorf("the page answered %d with credentials in the URL, want 200", status)
		}
		showsCluster(t, b)
	})

	t.Run("a sandbox on an agent that wants credentials", func(t *testing.T) {
		b := browsertest.New(t)
		b.AnswerLogins(t, func(c browsertest.Challenge) browsertest.Login {
			if c.Origin != "http://"+host {
				t.Errorf("the browser asked for credentials for %s: the page should ask for the agent's itself", c.Origin)
				return browsertest.Login{Cancel: true}
			}
			return browsertest.Login{User: "ops", Password: "ops-secret"}
		})
		b.Navigate(t, "http://"+host+"/ui/#/tasks/"+url.PathEscape(fw)+"/guarded")
		b.WaitFor(t, 30*time.Second, live, "the page subscribes to the master")
		prompt := `document.querySelector("dialog#agent-login[open]")`
		b.WaitFor(t, 30*time.Second, fmt.Sprintf(`%s !== null && %s.dataset.origin === %q`, prompt, prompt, "http://"+agent.Addr),
			"the page asks for the agent's credentials")
		if browsertest.Eval[bool](t, b, `document.getElementById("tail").textContent !== ""`) {
			t.Fatal("the tail shows the sandbox before the agent's credentials are given")
		}
		logIn := func(secret string) {
			browsertest.Eval[bool](t, b, fmt.Sprintf(`(() => {
				const f = document.querySelector("dialog#agent-login[open] form");
				f.elements.user.value = "ops"; f.elements.password.value = %q; f.requestSubmit(); return true; })()`, secret))
		}
		logIn("wrong")
		b.WaitFor(t, 20*time.Second, fmt.Sprintf(`%s !== null && %s.querySelector(".problem").textContent.includes("refused")`, prompt, prompt),
			"refused credentials are asked for again")
		logIn("ops-secret")
		b.WaitFor(t, 30*time.Second, `document.getElementById("tail").textContent.includes("hello from a guarded sandbox")`, "the task's stdout is tailed")
		b.WaitFor(t, 10*time.Second, `[...document.querySelectorAll("#sandbox-files a[data-file]")].some((a) => a.textContent === "stdout")`,
			"the sandbox is listed")
		if !browsertest.Eval[bool](t, b, `document.querySelector("dialog#agent-login") === null &&
			sessionStorage.getItem("agora.agentCredentials").includes("Basic ") && localStorage.length === 0`) {
			t.Error("the agent's credentials are not kept in sessionStorage alone, or the prompt stayed")
		}
		if got := b.Challenges(); len(got) != 1 || got[0].Origin != "http://"+host {
			t.Errorf("the browser's login prompts %+v, want one, for the master", got)
		}
		for _, e := range b.Errors() {
			if !strings.Contains(e, "401") { // the agent's refusals, which the browser logs
				t.Errorf("console error: %s", e)
			}
		}
	})
}
