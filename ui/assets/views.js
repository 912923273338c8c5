// The pages: each view mounts into the main element and is updated in place when the
// state changes, so that a filter being typed keeps its focus and a page its position.

import {agentFetch} from './agentauth.js';
import {PagedTable, esc} from './table.js';
import {SCALARS, isTerminal, ranges, scalars, taskKey} from './state.js';
import {operatorCall} from './stream.js';
import {FrameworkAPI} from './frameworkapi.js';

// --- formatting -----------------------------------------------------------------------

export function fmtScalar(name, v) {
  if (name === 'mem' || name === 'disk') {
    if (v >= 1024 * 1024) return `${(v / 1024 / 1024).toFixed(1)} TB`;
    if (v >= 1024) return `${(v / 1024).toFixed(1)} GB`;
    return `${Math.round(v)} MB`;
  }
  return String(Math.round(v * 100) / 100);
}

function fmtTime(seconds) {
  if (!seconds) return '';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

function nanosToSeconds(t) {
  return t && t.nanoseconds ? Number(t.nanoseconds) / 1e9 : 0;
}

function stateBadge(state) {
  const s = state || 'TASK_STAGING';
  const kind = s === 'TASK_RUNNING' ? 'ok' : isTerminal(s) ? (s === 'TASK_FINISHED' ? 'done' : 'bad') : 'wait';
  return `<span class="badge ${kind}">${esc(s.replace(/^TASK_/, ''))}</span>`;
}

function bar(used, total) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return `<progress max="100" value="${pct.toFixed(1)}" title="${pct.toFixed(1)}%"></progress>`;
}

const href = (...parts) => '#/' + parts.map(encodeURIComponent).join('/');

// agentAddress is where the agent listens: the address of its PID (slave(1)@ip:port), else
// its hostname and port.
export function agentAddress(agent) {
  const at = (agent.pid || '').lastIndexOf('@');
  if (at >= 0) return agent.pid.slice(at + 1);
  return `${agent.agent_info.hostname}:${agent.agent_info.port || 5051}`;
}

// agentURL is the agent's base URL, in the page's scheme: agents of a master served over
// TLS serve TLS too, and a page over https may not read plain http.
export function agentURL(agent) {
  return `${location.protocol}//${agentAddress(agent)}`;
}

function agentLink(state, id) {
  if (!id) return '';
  const a = state.agents.get(id);
  return `<a href="${href('agents', id)}">${esc(a ? a.agent_info.hostname + ':' + a.agent_info.port : id)}</a>`;
}

function frameworkLink(state, id) {
  const f = state.frameworks.get(id) || state.completedFrameworks.get(id);
  return `<a href="${href('frameworks', id)}">${esc(f ? f.framework_info.name : id)}</a>`;
}

function dl(pairs) {
  return '<dl class="info">' + pairs.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('') + '</dl>';
}

function resourcesTable(used, total) {
  let html = '<table class="resources"><thead><tr><th>Resource</th><th>Used</th><th>Total</th><th></th></tr></thead><tbody>';
  for (const k of SCALARS) {
    if (k === 'gpus' && !total.gpus) continue;
    html += `<tr data-resource="${k}"><td>${k}</td><td>${fmtScalar(k, used[k])}</td><td>${fmtScalar(k, total[k])}</td><td>${bar(used[k], total[k])}</td></tr>`;
  }
  return html + '</tbody></table>';
}

// --- task rows, shared by the task tables ---------------------------------------------

// sortTasks puts the tasks that are not terminal first, each group in arrival order.
function sortTasks(tasks) {
  const live = [];
  const done = [];
  for (const t of tasks) (isTerminal(t.state) ? done : live).push(t);
  return live.concat(done);
}

function taskTable(state, id, select) {
  let cache = null;
  const rows = () => {
    if (cache && cache.version === state.version) return cache.rows;
    const all = [];
    for (const t of state.tasks.values()) if (!select || select(t)) all.push(t);
    cache = {version: state.version, rows: sortTasks(all)};
    return cache.rows;
  };
  return new PagedTable({
    id, noun: 'tasks', rows,
    key: (t) => taskKey(t.framework_id.value, t.task_id.value),
    search: (t) => `${t.task_id.value} ${t.name || ''} ${t.state || ''} ${t.framework_id.value} ${t.agent_id ? t.agent_id.value : ''}`,
    columns: [
      {title: 'ID', html: (t) => `<a class="task-link" href="${href('tasks', t.framework_id.value, t.task_id.value)}">${esc(t.task_id.value)}</a>`, sort: (t) => t.task_id.value},
      {title: 'Name', html: (t) => esc(t.name), sort: (t) => t.name || ''},
      {title: 'State', html: (t) => stateBadge(t.state), sort: (t) => t.state || ''},
      {title: 'Framework', html: (t) => frameworkLink(state, t.framework_id.value), sort: (t) => t.framework_id.value},
      {title: 'Agent', html: (t) => agentLink(state, t.agent_id && t.agent_id.value), sort: (t) => (t.agent_id ? t.agent_id.value : '')},
      {title: 'CPUs', html: (t) => fmtScalar('cpus', scalars(t.resources).cpus), sort: (t) => scalars(t.resources).cpus},
      {title: 'Mem', html: (t) => fmtScalar('mem', scalars(t.resources).mem), sort: (t) => scalars(t.resources).mem},
      {title: 'Sandbox', html: (t) => (t.agent_id ? `<a href="${href('tasks', t.framework_id.value, t.task_id.value)}">sandbox</a>` : '')},
    ],
  });
}

// A view built of static HTML around paged tables: html() is redrawn on each update,
// the tables are mounted once and updated.
class TablesView {
  constructor(title, html, tables) {
    Object.assign(this, {title, html, tables});
  }

  mount(el) {
    el.innerHTML = `<h1>${esc(this.title)}</h1><div class="summary"></div>`;
    this.summary = el.querySelector('.summary');
    this.summary.innerHTML = this.html ? this.html() : '';
    for (const [heading, t] of this.tables) {
      if (heading) el.insertAdjacentHTML('beforeend', `<h2>${esc(heading)}</h2>`);
      t.mount(el);
    }
  }

  update() {
    if (this.html) this.summary.innerHTML = this.html();
    for (const [, t] of this.tables) t.update();
  }
}

// --- the views ------------------------------------------------------------------------

export function overview(app) {
  const {state} = app;
  return new TablesView('Cluster', () => {
    const u = state.usage();
    const m = app.master && app.master.master_info;
    const leader = m ? `${esc((m.address && m.address.hostname) || m.hostname)}:${esc(m.port)} <span class="muted">${esc(m.pid || '')}</span>` : '<span class="muted">…</span>';
    let active = 0;
    for (const f of state.frameworks.values()) if (f.active) active++;
    const byState = [...u.byState.entries()].sort().map(([s, n]) => `${stateBadge(s)} <span data-state="${esc(s)}">${n}</span>`).join(' ') || '<span class="muted">none</span>';
    return dl([
      ['Leader', leader],
      ['Version', esc(m ? m.version : '')],
      ['Started', esc(app.master ? fmtTime(app.master.start_time) : '')],
      ['Agents', `<span id="overview-agents">${u.activeAgents}</span> active of ${state.agents.size}`],
      ['Frameworks', `<span id="overview-frameworks">${active}</span> active, ${state.completedFrameworks.size} completed`],
      ['Tasks', byState],
    ]) + '<h2>Resources</h2>' + resourcesTable(u.used, u.total);
  }, []);
}

export function agents(app) {
  const {state} = app;
  let cache = null;
  const rows = () => {
    if (!cache || cache.version !== state.version) cache = {version: state.version, rows: [...state.agents.values()]};
    return cache.rows;
  };
  const used = (a) => state.usage().byAgent.get(a.agent_info.id.value) || {cpus: 0, mem: 0, disk: 0, gpus: 0, tasks: 0};
  const res = (k) => (a) => {
    const total = scalars(a.total_resources || a.agent_info.resources)[k];
    return `${fmtScalar(k, used(a)[k])} / ${fmtScalar(k, total)}`;
  };
  const usedOf = (k) => (a) => used(a)[k];
  const table = new PagedTable({
    id: 'agents', noun: 'agents', rows,
    key: (a) => a.agent_info.id.value,
    search: (a) => `${a.agent_info.id.value} ${a.agent_info.hostname} ${a.agent_info.port} ${a.pid || ''}`,
    columns: [
      {title: 'ID', html: (a) => `<a href="${href('agents', a.agent_info.id.value)}">${esc(a.agent_info.id.value)}</a>`, sort: (a) => a.agent_info.id.value},
      {title: 'Host', html: (a) => esc(a.agent_info.hostname), sort: (a) => a.agent_info.hostname},
      {title: 'Address', html: (a) => esc(agentAddress(a))},
      {title: 'Active', html: (a) => (a.active ? 'yes' : '<span class="badge bad">no</span>'), sort: (a) => (a.active ? 1 : 0)},
      {title: 'Tasks', html: (a) => String(used(a).tasks), sort: usedOf('tasks')},
      {title: 'CPUs', html: res('cpus'), sort: usedOf('cpus')},
      {title: 'Mem', html: res('mem'), sort: usedOf('mem')},
      {title: 'Disk', html: res('disk'), sort: usedOf('disk')},
      {title: 'Registered', html: (a) => esc(fmtTime(nanosToSeconds(a.registered_time))), sort: (a) => nanosToSeconds(a.registered_time)},
    ],
  });
  return new TablesView('Agents', null, [[null, table]]);
}

export function agent(app, id) {
  const {state} = app;
  return new TablesView(`Agent ${id}`, () => {
    const a = state.agents.get(id);
    if (!a) return app.connected ? '<p class="error">No such agent (it may have been removed).</p>' : '<p class="muted">Loading…</p>';
    const info = a.agent_info;
    const u = state.usage().byAgent.get(id) || scalars([]);
    const attrs = (info.attributes || []).map((x) => `${x.name}:${x.text ? x.text.value : x.scalar ? x.scalar.value : ''}`).join(';');
    return dl([
      ['Host', esc(info.hostname)],
      ['Address', esc(agentAddress(a))],
      ['PID', esc(a.pid || '')],
      ['Active', a.active ? 'yes' : 'no'],
      ['Version', esc(a.version || '')],
      ['Registered', esc(fmtTime(nanosToSeconds(a.registered_time)))],
      ['Attributes', esc(attrs)],
      ['Ranges', esc(ranges(a.total_resources || info.resources))],
      ['Endpoints', `<a href="${esc(agentURL(a))}/state" target="_blank" rel="noopener">/state</a>`],
    ]) + '<h2>Resources</h2>' + resourcesTable(u, scalars(a.total_resources || info.resources));
  }, [['Tasks', taskTable(state, 'agent-tasks', (t) => t.agent_id && t.agent_id.value === id)]]);
}

export function frameworks(app) {
  const {state} = app;
  let cache = null;
  const rows = () => {
    if (!cache || cache.version !== state.version) cache = {version: state.version, rows: [...state.frameworks.values(), ...state.completedFrameworks.values()]};
    return cache.rows;
  };
  const live = (f) => state.usage().byFramework.get(f.framework_info.id.value) || 0;
  const table = new PagedTable({
    id: 'frameworks', noun: 'frameworks', rows,
    key: (f) => f.framework_info.id.value,
    search: (f) => `${f.framework_info.id.value} ${f.framework_info.name} ${f.framework_info.user || ''} ${(f.framework_info.roles || []).join(' ')}`,
    columns: [
      {title: 'ID', html: (f) => `<a href="${href('frameworks', f.framework_info.id.value)}">${esc(f.framework_info.id.value)}</a>`},
      {title: 'Name', html: (f) => esc(f.framework_info.name), sort: (f) => f.framework_info.name},
      {title: 'Roles', html: (f) => esc((f.framework_info.roles || [f.framework_info.role || '*']).join(', '))},
      {title: 'User', html: (f) => esc(f.framework_info.user)},
      {title: 'State', html: (f) => (state.completedFrameworks.has(f.framework_info.id.value) ? '<span class="badge done">completed</span>' : f.active ? '<span class="badge ok">active</span>' : '<span class="badge wait">inactive</span>')},
      {title: 'Active tasks', html: (f) => String(live(f)), sort: live},
      {title: 'Web UI', html: (f) => (f.framework_info.webui_url ? `<a href="${esc(f.framework_info.webui_url)}" target="_blank" rel="noopener">open</a>` : '')},
    ],
  });
  return new TablesView('Frameworks', null, [[null, table]]);
}

export function framework(app, id) {
  const {state} = app;
  let api = null;   // the framework's REST view, once the framework is known
  let apiEl = null;
  const drawAPI = () => {
    apiEl.innerHTML = api ? api.html() : '';
  };
  // changed tells the REST view of a change, making it when the framework first shows up
  // (the page may open on this view before the stream's first event).
  const changed = () => {
    if (!api) {
      const f = state.frameworks.get(id) || state.completedFrameworks.get(id);
      if (!f) return;
      api = new FrameworkAPI(f.framework_info, drawAPI);
      drawAPI();
    }
    api.changed();
  };
  const base = new TablesView(`Framework ${id}`, () => {
    const f = state.frameworks.get(id) || state.completedFrameworks.get(id);
    if (!f) return app.connected ? '<p class="error">No such framework.</p>' : '<p class="muted">Loading…</p>';
    const info = f.framework_info;
    return dl([
      ['Name', esc(info.name)],
      ['User', esc(info.user)],
      ['Roles', esc((info.roles || [info.role || '*']).join(', '))],
      ['Hostname', esc(info.hostname || '')],
      ['Active', f.active ? 'yes' : 'no'],
      ['Connected', f.connected ? 'yes' : 'no'],
      ['Failover timeout', esc(info.failover_timeout ? `${info.failover_timeout}s` : '')],
      ['Registered', esc(fmtTime(nanosToSeconds(f.registered_time)))],
      ['Web UI', info.webui_url ? `<a href="${esc(info.webui_url)}" target="_blank" rel="noopener">${esc(info.webui_url)}</a>` : ''],
    ]);
  }, [['Tasks', taskTable(state, 'framework-tasks', (t) => t.framework_id.value === id)]]);
  return {
    mount(el) {
      base.mount(el);
      apiEl = document.createElement('div');
      apiEl.id = 'framework-api';
      base.summary.after(apiEl);
      changed();
    },
    update() {
      base.update();
      changed();
    },
    unmount() {
      if (api) api.close();
    },
  };
}

export function tasks(app) {
  return new TablesView('Tasks', null, [[null, taskTable(app.state, 'tasks', null)]]);
}

export function roles() {
  return {
    mount(el) {
      el.innerHTML = '<h1>Roles</h1><p><button type="button" id="roles-refresh">Refresh</button></p><div id="roles-body" class="muted">Loading…</div>';
      el.querySelector('#roles-refresh').addEventListener('click', () => this.load(el));
      this.load(el);
    },
    update() {},
    async load(el) {
      const body = el.querySelector('#roles-body');
      try {
        const [r, q] = await Promise.all([operatorCall('GET_ROLES'), operatorCall('GET_QUOTA')]);
        let html = '<table id="roles"><thead><tr><th>Role</th><th>Weight</th><th>Frameworks</th><th>CPUs</th><th>Mem</th><th>Disk</th></tr></thead><tbody>';
        for (const role of (r.get_roles && r.get_roles.roles) || []) {
          const s = scalars(role.resources);
          html += `<tr data-key="${esc(role.name)}"><td>${esc(role.name)}</td><td>${esc(role.weight)}</td><td>${(role.frameworks || []).length}</td><td>${fmtScalar('cpus', s.cpus)}</td><td>${fmtScalar('mem', s.mem)}</td><td>${fmtScalar('disk', s.disk)}</td></tr>`;
        }
        html += '</tbody></table><h2>Quota</h2>';
        const configs = (q.get_quota && q.get_quota.status && q.get_quota.status.configs) || [];
        if (!configs.length) html += '<p class="muted">No quota set.</p>';
        else {
          const qty = (m) => Object.entries(m || {}).map(([k, v]) => `${k}:${v.value}`).join('; ');
          html += '<table id="quota"><thead><tr><th>Role</th><th>Guarantees</th><th>Limits</th></tr></thead><tbody>';
          for (const c of configs) html += `<tr><td>${esc(c.role)}</td><td>${esc(qty(c.guarantees))}</td><td>${esc(qty(c.limits))}</td></tr>`;
          html += '</tbody></table>';
        }
        body.className = '';
        body.innerHTML = html;
      } catch (e) {
        body.className = 'error';
        body.textContent = String(e.message || e);
      }
    },
  };
}

// --- a task and its sandbox -----------------------------------------------------------

const TAIL_BYTES = 64 * 1024;   // how much of a file's end the tail starts with
const TAIL_KEEP = 256 * 1024;   // how much of the tail is kept on the page
const TAIL_INTERVAL_MS = 1000;  // how often the tail reads the file's new bytes

export function task(app, frameworkId, taskId) {
  const {state} = app;
  const key = taskKey(frameworkId, taskId);
  let sandbox = null; // {url, dir} once found
  let tail = null;
  const view = {
    mount(el) {
      el.innerHTML = `<h1>Task ${esc(taskId)}</h1><div class="summary"></div>
        <h2>Sandbox</h2><div id="sandbox" class="muted">Looking for the sandbox…</div>
        <div class="tail-tools"><button type="button" data-file="stdout">stdout</button><button type="button" data-file="stderr">stderr</button>
        <span id="tail-file" class="muted"></span></div><pre id="tail"></pre>`;
      this.summary = el.querySelector('.summary');
      this.el = el;
      for (const b of el.querySelectorAll('.tail-tools button')) b.addEventListener('click', () => this.follow(b.dataset.file));
      this.looked = false;
      this.update();
    },
    update() {
      const t = state.tasks.get(key);
      if (!t) {
        this.summary.innerHTML = app.connected ? '<p class="error">No such task.</p>' : '<p class="muted">Loading…</p>';
        return;
      }
      // The page may open here before the stream's first event: look once the task is known.
      if (!this.looked) {
        this.looked = true;
        this.findSandbox();
      }
      const statuses = (t.statuses || []).slice().reverse().map((s) =>
        `<tr><td>${stateBadge(s.state)}</td><td>${esc(fmtTime(s.timestamp))}</td><td>${esc(s.source || '')}</td><td>${esc(s.reason || '')}</td><td>${esc(s.message || '')}</td></tr>`).join('');
      this.summary.innerHTML = dl([
        ['Name', esc(t.name)],
        ['State', `<span id="task-state">${stateBadge(t.state)}</span>`],
        ['Framework', frameworkLink(state, frameworkId)],
        ['Agent', agentLink(state, t.agent_id && t.agent_id.value)],
        ['Resources', esc(Object.entries(scalars(t.resources)).filter(([, v]) => v).map(([k, v]) => `${k}:${fmtScalar(k, v)}`).join('; ') + ' ' + ranges(t.resources))],
      ]) + `<table class="statuses"><thead><tr><th>State</th><th>Time</th><th>Source</th><th>Reason</th><th>Message</th></tr></thead><tbody>${statuses}</tbody></table>`;
    },
    unmount() {
      if (tail) clearTimeout(tail.timer);
      tail = null;
    },
    async findSandbox() {
      const box = this.el.querySelector('#sandbox');
      const t = state.tasks.get(key);
      const a = t && t.agent_id && state.agents.get(t.agent_id.value);
      if (!a) {
        box.textContent = 'The task has no agent that the master knows.';
        return;
      }
      const url = agentURL(a);
      try {
        const st = await getJSON(`${url}/state`);
        const dir = executorDirectory(st, frameworkId, taskId, t);
        if (!dir) throw new Error('the agent does not list the task\'s executor');
        sandbox = {url, dir};
        await this.browse(dir);
        this.follow('stdout');
      } catch (e) {
        box.className = 'error';
        if (e.status === 401) {
          // Cancelled: offer the login again.
          box.innerHTML = '<span></span> <button type="button" id="sandbox-login">Log in</button>';
          box.firstChild.textContent = `The agent at ${url} wants credentials to show the sandbox.`;
          box.querySelector('#sandbox-login').addEventListener('click', () => this.findSandbox());
        } else if (e.status) {
          box.textContent = `Cannot read the sandbox from ${url}: ${e.message}`;
        } else {
          box.textContent = `Cannot read the sandbox from ${url}: ${e.message || e}. The agent must allow this page's origin (--access_control_allow_origin=${location.origin}).`;
        }
      }
    },
    // browse lists one directory of the sandbox: a directory opens, a file is followed
    // below (with a link to download it).
    async browse(path) {
      const box = this.el.querySelector('#sandbox');
      const {url, dir} = sandbox;
      const files = await getJSON(`${url}/files/browse?path=${encodeURIComponent(path)}`);
      const rel = path.slice(dir.length).replace(/^\/+/, '');
      const rows = files.map((f) => {
        const name = f.path.split('/').pop();
        const isDir = f.mode && f.mode.startsWith('d');
        const link = isDir ? `<a href="#" data-dir="${esc(f.path)}">${esc(name)}/</a>` :
          `<a href="#" data-file="${esc(f.path.slice(dir.length + 1))}">${esc(name)}</a> <a class="muted" href="${esc(url)}/files/download?path=${encodeURIComponent(f.path)}">download</a>`;
        return `<tr><td>${link}</td><td>${esc(f.size)}</td><td>${esc(fmtTime(f.mtime))}</td></tr>`;
      });
      if (rel) rows.unshift(`<tr><td><a href="#" data-dir="${esc(path.slice(0, path.lastIndexOf('/')))}">../</a></td><td></td><td></td></tr>`);
      box.className = '';
      box.innerHTML = `<p class="muted">${esc(dir)}${rel ? '/<b>' + esc(rel) + '</b>' : ''} on ${esc(url)}</p>` +
        `<table id="sandbox-files"><thead><tr><th>File</th><th>Size</th><th>Modified</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
      for (const a of box.querySelectorAll('a[data-dir]')) {
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          this.browse(a.dataset.dir).catch((e) => { box.className = 'error'; box.textContent = String(e.message || e); });
        });
      }
      for (const a of box.querySelectorAll('a[data-file]')) {
        a.addEventListener('click', (ev) => {
          ev.preventDefault();
          this.follow(a.dataset.file);
        });
      }
    },
    // follow tails one of the sandbox's files until the view goes or another is chosen.
    async follow(name) {
      if (!sandbox) return;
      if (tail) clearTimeout(tail.timer);
      const me = tail = {name, offset: -1, timer: null};
      const pre = this.el.querySelector('#tail');
      pre.textContent = '';
      this.el.querySelector('#tail-file').textContent = `${name} (live)`;
      const path = `${sandbox.dir}/${name}`;
      const step = async () => {
        if (tail !== me) return;
        try {
          if (me.offset < 0) {
            const end = await getJSON(`${sandbox.url}/files/read?path=${encodeURIComponent(path)}&offset=-1`);
            me.offset = Math.max(0, end.offset - TAIL_BYTES);
          }
          const r = await getJSON(`${sandbox.url}/files/read?path=${encodeURIComponent(path)}&offset=${me.offset}`);
          if (tail !== me) return;
          if (r.data) {
            me.offset += new TextEncoder().encode(r.data).length;
            let text = pre.textContent + r.data;
            if (text.length > TAIL_KEEP) text = text.slice(text.length - TAIL_KEEP);
            pre.textContent = text;
            pre.scrollTop = pre.scrollHeight;
          }
        } catch (e) {
          this.el.querySelector('#tail-file').textContent = `${name}: ${e.message || e}`;
        }
        if (tail === me) me.timer = setTimeout(step, TAIL_INTERVAL_MS);
      };
      step();
    },
  };
  return view;
}

// getJSON reads a JSON document from an agent, with the credentials its user gave for it
// when it wants them (agentauth.js). A refusal is an error carrying the status.
async function getJSON(url) {
  const resp = await agentFetch(url, {cache: 'no-store'});
  if (!resp.ok) {
    const err = new Error(`${url} answered ${resp.status}: ${(await resp.text()).slice(0, 200)}`);
    err.status = resp.status;
    throw err;
  }
  return resp.json();
}

// executorDirectory finds the sandbox of the executor that runs (or ran) the task in an
// agent's /state.
export function executorDirectory(st, frameworkId, taskId, t) {
  const executorId = ((t && t.statuses) || []).map((s) => s.executor_id && s.executor_id.value).find(Boolean);
  for (const f of [...(st.frameworks || []), ...(st.completed_frameworks || [])]) {
    if (f.id !== frameworkId) continue;
    for (const e of [...(f.executors || []), ...(f.completed_executors || [])]) {
      if (e.id === executorId || e.id === taskId) return e.directory;
      for (const list of [e.tasks, e.queued_tasks, e.completed_tasks]) {
        if ((list || []).some((x) => x.id === taskId)) return e.directory;
      }
    }
  }
  return '';
}
