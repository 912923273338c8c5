package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/agoracluster/agora/integration/browsertest"
	"github.com/agoracluster/agora/ui"
)

// The page's modules, run in Chromium against inputs fixed here: the RecordIO parser, the
// cluster state's event folding and the paged table.
func TestModulesInChromium(t *testing.T) {
	h, err := ui.New()
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux, nil)
	mux.HandleFunc("/blank", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<!doctype html><link rel="icon" href="data:,"><body><div id="t"></div></body>`)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	b := browsertest.New(t)
	b.Do(t, chromedp.Navigate(srv.URL+"/blank"))

	for _, tc := range []struct {
		name string
		js   string // the body of an async function of the modules r (recordio), s (state), tb (table), fa (frameworkapi), aa (agentauth)
		want string // its result as JSON
	}{
		{
			name: "records cut at every byte",
			js: `const enc = new TextEncoder();
				const recs = ['hello', '', '{"a":"é"}', 'x'.repeat(300)];
				const stream = enc.encode(recs.map((x) => enc.encode(x).length + '\n' + x).join(''));
				const p = new r.RecordIOParser();
				const out = [];
				for (let i = 0; i < stream.length; i++) out.push(...p.push(stream.subarray(i, i + 1)));
				return [out.map((x) => x.length), out[2], p.pending()];`,
			want: `[[5,0,9,300],"{\"a\":\"é\"}",false]`,
		},
		{
			name: "agent credentials: Basic in UTF-8, the challenge's realm",
			js: `return [aa.basic('ops', 'ops-secret'), aa.basic('é', 'x:y'), aa.realmOf('Basic realm="mesos"'), aa.realmOf(null),
				aa.credentialFor('http://nowhere:1')];`,
			want: `["Basic b3BzOm9wcy1zZWNyZXQ=","Basic w6k6eDp5","mesos","",""]`,
		},
		{
			name: "records in one chunk and a cut-off record",
			js: `const p = new r.RecordIOParser();
				const got = p.push(new TextEncoder().encode('3\nabc2\nde10\nfgh'));
				return [got, p.pending()];`,
			want: `[["abc","de"],true]`,
		},
		{
			name: "a bad length is an error",
			js: `try { new r.RecordIOParser().push(new TextEncoder().encode('12x\n')); return 'no error'; }
				catch (e) { return [e instanceof r.RecordIOError, e.message]; }`,
			want: `[true,"RecordIO: bad record length \"12x\""]`,
		},
		{
			name: "events fold into the state",
			js: `const st = new s.ClusterState();
				const res = (cpus, mem) => [{name: 'cpus', type: 'SCALAR', scalar: {value: cpus}}, {name: 'mem', type: 'SCALAR', scalar: {value: mem}}];
				const agent = (id) => ({agent_info: {id: {value: id}, hostname: 'h' + id, port: 5051, resources: res(4, 1024)}, active: true, total_resources: res(4, 1024)});
				const task = (id, state) => ({task_id: {value: id}, framework_id: {value: 'F'}, agent_id: {value: 'A1'}, name: id, state, resources: res(1, 128)});
				st.apply({type: 'SUBSCRIBED', subscribed: {heartbeat_interval_seconds: 5, get_state: {
					get_agents: {agents: [agent('A1')]},
					get_frameworks: {frameworks: [{framework_info: {id: {value: 'F'}, name: 'f'}, active: true}]},
					get_tasks: {tasks: [task('t1', 'TASK_RUNNING')], completed_tasks: [task('t0', 'TASK_FINISHED')]}}}});
				st.apply({type: 'TASK_ADDED', task_added: {task: task('t2', 'TASK_STAGING')}});
				st.apply({type: 'TASK_UPDATED', task_updated: {framework_id: {value: 'F'}, state: 'TASK_KILLED', status: {task_id: {value: 't1'}, state: 'TASK_KILLED'}}});
				st.apply({type: 'TASK_UPDATED', task_updated: {framework_id: {value: 'F'}, state: 'TASK_RUNNING', status: {task_id: {value: 'unseen'}, agent_id: {value: 'A1'}, state: 'TASK_RUNNING'}}});
				st.apply({type: 'AGENT_ADDED', agent_added: {agent: agent('A2')}});
				st.apply({type: 'AGENT_ADDED', agent_added: {agent: agent('A3')}});
				st.apply({type: 'AGENT_REMOVED', agent_removed: {agent_id: {value: 'A3'}}});
				st.apply({type: 'FRAMEWORK_REMOVED', framework_removed: {framework_info: {id: {value: 'F'}, name: 'f'}}});
				const heartbeat = st.apply({type: 'HEARTBEAT'});
				const u = st.usage();
				return {
					tasks: [...st.tasks.values()].map((t) => t.task_id.value + ':' + t.state),
					agents: [...st.agents.keys()], frameworks: st.frameworks.size, completed: [...st.completedFrameworks.keys()],
					heartbeat, heartbeatSeconds: st.heartbeatSeconds,
					used: [u.used.cpus, u.used.mem], total: [u.total.cpus, u.total.mem], onA1: u.byAgent.get('A1').tasks, ofF: u.byFramework.get('F'),
					statuses: st.tasks.get(s.taskKey('F', 't1')).statuses.length,
				};`,
			want: `{"tasks":["t1:TASK_KILLED","t0:TASK_FINISHED","t2:TASK_STAGING","unseen:TASK_RUNNING"],` +
				`"agents":["A1","A2"],"frameworks":0,"completed":["F"],"heartbeat":false,"heartbeatSeconds":5,` +
				`"used":[1,128],"total":[8,2048],"onA1":2,"ofF":2,"statuses":1}`,
		},
		{
			name: "frameworks' kinds and queue reasons",
			js: `return [
					fa.kindOf({name: 'marathon', webui_url: 'http://m:8080'}), fa.kindOf({name: 'batch', webui_url: 'http://b:8081'}),
					fa.kindOf({name: 'marathon'}), fa.kindOf({name: 'spark', webui_url: 'http://s'}),
					fa.waiting({count: 1, delay: {timeLeftSeconds: 12}}),
					fa.waiting({count: 2, delay: {timeLeftSeconds: 0}, processedOffersSummary: {rejectSummaryLastOffers: [
						{reason: 'UnfulfilledRole', declined: 0, processed: 3}, {reason: 'InsufficientCpus', declined: 3, processed: 3},
						{reason: 'InsufficientMemory', declined: 1, processed: 3}]}}),
					fa.waiting({count: 2, delay: {}}),
					fa.waiting(undefined),
				];`,
			want: `["marathon","batch","","","backing off, 12s left","InsufficientCpus: declined 3 of 3 offers","waiting for offers (2 to launch)",""]`,
		},
		{
			name: "a table draws one page of its rows",
			js: `const rows = Array.from({length: 250}, (_, i) => ({id: 'row' + i}));
				const table = new tb.PagedTable({id: 'x', noun: 'rows', rows: () => rows, key: (x) => x.id, search: (x) => x.id,
					columns: [{title: 'ID', html: (x) => tb.esc(x.id)}]});
				const el = document.getElementById('t');
				el.innerHTML = '';
				table.mount(el);
				const first = [el.querySelectorAll('tbody tr').length, el.querySelector('#x-count').textContent, el.querySelector('#x-page').textContent];
				el.querySelector('#x-next').click();
				el.querySelector('#x-next').click();
				el.querySelector('#x-next').click();
				const last = [el.querySelectorAll('tbody tr').length, el.querySelector('tbody tr').dataset.key, el.querySelector('#x-page').textContent];
				const f = el.querySelector('#x-filter');
				f.value = 'ROW24';
				f.dispatchEvent(new Event('input'));
				const filtered = [el.querySelectorAll('tbody tr').length, el.querySelector('#x-count').textContent];
				return [first, last, filtered, tb.esc('<a href="x">&\'')];`,
			want: `[[100,"250 rows","page 1 of 3"],[50,"row200","page 3 of 3"],[11,"11 of 250 rows"],"&lt;a href=&quot;x&quot;&gt;&amp;&#39;"]`,
		},
		{
			name: "a table orders by a column, numbers as numbers, ties as they came",
			js: `const rows = [{id: 'a', n: 10, g: 'x'}, {id: 'b', n: 9, g: 'y'}, {id: 'c', n: 100, g: 'x'}, {id: 'd', n: 9, g: 'x'}];
				const table = new tb.PagedTable({id: 'o', noun: 'rows', rows: () => rows, key: (x) => x.id, search: (x) => x.id,
					columns: [{title: 'N', html: (x) => String(x.n), sort: (x) => x.n}, {title: 'G', html: (x) => x.g, sort: (x) => x.g}, {title: 'ID', html: (x) => x.id}]});
				const el = document.getElementById('t');
				el.innerHTML = '';
				table.mount(el);
				const keys = () => [...el.querySelectorAll('tbody tr')].map((r) => r.dataset.key).join('');
				const th = el.querySelectorAll('th');
				const out = [keys(), th[2].classList.contains('sortable')];
				th[0].click(); out.push(keys());
				th[0].click(); out.push(keys(), th[0].getAttribute('aria-sort'));
				th[1].click(); out.push(keys());
				return out;`,
			want: `["abcd",false,"bdac","cabd","descending","acdb"]`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expr := `(async () => {
				const r = await import('/ui/recordio.js');
				const s = await import('/ui/state.js');
				const tb = await import('/ui/table.js');
				const fa = await import('/ui/frameworkapi.js');
				const aa = await import('/ui/agentauth.js');
				const result = await (async () => {` + tc.js + `})();
				return JSON.stringify(result);
			})()`
			got := browsertest.Eval[string](t, b, expr)
			var gotV, wantV any
			if err := json.Unmarshal([]byte(got), &gotV); err != nil {
				t.Fatalf("result %s: %v", got, err)
			}
			if err := json.Unmarshal([]byte(tc.want), &wantV); err != nil {
				t.Fatalf("want %s: %v", tc.want, err)
			}
			if g, w := mustJSON(gotV), mustJSON(wantV); g != w {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
	if errs := b.Errors(); len(errs) > 0 {
		t.Errorf("console errors: %q", errs)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
