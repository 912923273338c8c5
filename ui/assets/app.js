// The page's owner: it holds the cluster state, feeds it from the operator stream, routes
// the location's hash to a view and redraws the view at most once per animation frame.

import {ClusterState} from './state.js';
import {OperatorStream, operatorCall, sameOrigin} from './stream.js';
import * as views from './views.js';

const routes = [
  [/^$/, (app) => views.overview(app)],
  [/^agents$/, (app) => views.agents(app)],
  [/^agents\/([^/]+)$/, (app, id) => views.agent(app, id)],
  [/^frameworks$/, (app) => views.frameworks(app)],
  [/^frameworks\/([^/]+)$/, (app, id) => views.framework(app, id)],
  [/^tasks$/, (app) => views.tasks(app)],
  [/^tasks\/([^/]+)\/([^/]+)$/, (app, fw, task) => views.task(app, fw, task)],
  [/^roles$/, () => views.roles()],
];

class App {
  constructor(main, status) {
    this.main = main;
    this.statusEl = status;
    this.state = new ClusterState();
    this.master = null;      // GET_MASTER's answer
    this.view = null;
    this.pending = false;
    this.stats = {events: 0, renders: 0, lastRenderMs: 0, subscriptions: 0};
    this.connected = false;
  }

  start() {
    window.addEventListener('hashchange', () => this.route());
    this.route();
    this.stream = new OperatorStream({
      url: '/api/v1',
      onEvent: (ev) => this.onEvent(ev),
      onStatus: (s) => this.onStatus(s),
    });
    this.stream.start();
  }

  onEvent(ev) {
    this.stats.events++;
    if (ev.type === 'SUBSCRIBED') this.stats.subscriptions++;
    if (this.state.apply(ev)) this.schedule();
  }

  async onStatus(s) {
    this.connected = s.state === 'live';
    this.statusEl.dataset.state = s.state;
    this.statusEl.textContent = s.state === 'disconnected'
      ? `disconnected (${s.error}); retrying in ${Math.round(s.retryMs / 100) / 10}s`
      : s.state;
    if (s.state === 'disconnected') this.findLeader();
    if (s.state === 'live') {
      try {
        this.master = (await operatorCall('GET_MASTER')).get_master;
        this.schedule();
      } catch (e) {
        console.warn('GET_MASTER:', e);
      }
    }
  }

  // findLeader moves the page to the leading master when this one no longer leads (a
  // failover): the stream's calls would be redirected to another origin, which the browser
  // refuses without CORS. A standby's /state names the leader.
  async findLeader() {
    try {
      const resp = await fetch(sameOrigin('/state'), {cache: 'no-store'});
      if (!resp.ok) return;
      const st = await resp.json();
      if (st.elected !== false || !st.leader) return;
      const addr = st.leader.slice(st.leader.lastIndexOf('@') + 1);
      if (addr && addr !== location.host) location.replace(`${location.protocol}//${addr}/ui/${location.hash}`);
    } catch (e) {
      // This master is down too; the stream's next attempt tries again.
    }
  }

  // route mounts the view that the location's hash names.
  route() {
    const raw = location.hash.replace(/^#\/?/, '');
    if (this.view && this.view.unmount) this.view.unmount();
    this.view = null;
    this.main.innerHTML = '';
    const section = raw.split('/')[0];
    for (const a of document.querySelectorAll('nav a')) {
      a.classList.toggle('current', section === a.getAttribute('href').replace(/^#\/?/, ''));
    }
    for (const [re, make] of routes) {
      const m = raw.match(re);
      if (!m) continue;
      let args;
      try {
        args = m.slice(1).map(decodeURIComponent);
      } catch (e) {
        break; // a malformed %-escape names no page
      }
      this.view = make(this, ...args);
      this.view.mount(this.main);
      return;
    }
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = `No page ${raw}.`;
    this.main.appendChild(p);
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  // render updates the current view and returns how long it took, in milliseconds.
  render() {
    const t0 = performance.now();
    if (this.view) this.view.update();
    const ms = performance.now() - t0;
    this.stats.renders++;
    this.stats.lastRenderMs = ms;
    return ms;
  }
}

const app = new App(document.getElementById('main'), document.getElementById('conn-status'));
// For tests and benchmarks: the state, the counters and a synchronous render.
window.agoraUI = app;
app.start();
