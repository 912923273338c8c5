// The REST views of the frameworks that ship with Agora, shown on their framework's page:
// Marathon's apps with their deployments and the launch queue's "why is it waiting", and the
// batch framework's jobs with their active runs. The page reads them from the framework's
// webui_url (which must allow the master's origin: --access_control_allow_origin) when the
// operator stream reports a change in the cluster, at most once a second, and once more a
// little later, as the framework learns of a task's update after the master does.

const SETTLE_MS = 1500;

import {esc} from './table.js';

const MIN_INTERVAL_MS = 1000;

// kindOf tells which REST API a framework serves, by the name it registered with.
export function kindOf(info) {
  const name = (info && info.name) || '';
  if (!info || !info.webui_url) return '';
  if (/^marathon/i.test(name)) return 'marathon';
  if (/^(batch|metronome)/i.test(name)) return 'batch';
  return '';
}

async function getJSON(url) {
  const resp = await fetch(url, {cache: 'no-store'});
  if (!resp.ok) throw new Error(`${url} answered ${resp.status}: ${(await resp.text()).slice(0, 200)}`);
  return resp.json();
}

export class FrameworkAPI {
  constructor(info, onChange) {
    this.kind = kindOf(info);
    this.base = this.kind ? info.webui_url.replace(/\/+$/, '') : '';
    this.onChange = onChange;
    this.data = null;
    this.error = '';
    this.last = 0;
    this.inflight = false;
    this.timer = null;
    this.settle = null;
    this.dirty = false;
    this.closed = false;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.settle);
  }

  // changed is called for every change the operator stream brings: the API is read again
  // now (or once a second since the last read is over) and once more SETTLE_MS later.
  changed() {
    if (!this.kind || this.closed) return;
    this.refresh();
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.refresh(), SETTLE_MS);
  }

  // refresh reads the framework's API again, now or, within a second of the last read, once
  // that second is over; a refresh asked for during a read follows it.
  refresh() {
    if (!this.kind || this.closed) return;
    if (this.inflight) {
      this.dirty = true;
      return;
    }
    if (this.timer) return;
    const wait = this.last + MIN_INTERVAL_MS - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.refresh();
      }, wait);
      return;
    }
    this.inflight = true;
    this.last = Date.now();
    this.read().then((data) => {
      this.data = data;
      this.error = '';
    }, (e) => {
      this.error = `Cannot read ${this.base}: ${e.message || e}. It must allow this page's origin (--access_control_allow_origin=${location.origin}).`;
    }).finally(() => {
      this.inflight = false;
      if (this.closed) return;
      this.onChange();
      if (this.dirty) {
        this.dirty = false;
        this.refresh();
      }
    });
  }

  async read() {
    if (this.kind === 'marathon') {
      const [apps, queue] = await Promise.all([
        getJSON(`${this.base}/v2/apps?embed=apps.deployments&embed=apps.counts`),
        getJSON(`${this.base}/v2/queue`),
      ]);
      return {apps: apps.apps || [], queue: queue.queue || []};
    }
    const jobs = await getJSON(`${this.base}/v1/jobs?embed=activeRuns&embed=historySummary&embed=schedules`);
    return {jobs: Array.isArray(jobs) ? jobs : []};
  }

  html() {
    if (!this.kind) return '';
    const title = this.kind === 'marathon' ? 'Apps' : 'Jobs';
    if (this.error) return `<h2>${title}</h2><p class="error">${esc(this.error)}</p>`;
    if (!this.data) return `<h2>${title}</h2><p class="muted">Loading…</p>`;
    return this.kind === 'marathon' ? marathonHTML(this.data) : batchHTML(this.data);
  }
}

// waiting says why a queued app waits: its back-off, or the reason most offers were declined.
export function waiting(entry) {
  if (!entry) return '';
  if (entry.delay && entry.delay.timeLeftSeconds > 0) return `backing off, ${entry.delay.timeLeftSeconds}s left`;
  const reasons = ((entry.processedOffersSummary || {}).rejectSummaryLastOffers || []).filter((r) => r.declined > 0);
  if (!reasons.length) return `waiting for offers (${entry.count} to launch)`;
  const top = reasons.reduce((a, b) => (b.declined > a.declined ? b : a));
  return `${top.reason}: declined ${top.declined} of ${top.processed} offers`;
}

function marathonHTML({apps, queue}) {
  const queued = new Map(queue.map((q) => [q.app && q.app.id, q]));
  let html = `<h2>Apps</h2><table id="apps"><thead><tr><th>ID</th><th>Running</th><th>Healthy</th><th>Staged</th><th>Deployments</th><th>Waiting</th></tr></thead><tbody>`;
  for (const a of apps) {
    html += `<tr data-key="${esc(a.id)}"><td>${esc(a.id)}</td><td>${esc(a.tasksRunning)} / ${esc(a.instances)}</td>` +
      `<td>${esc(a.tasksHealthy)}</td><td>${esc(a.tasksStaged)}</td>` +
      `<td>${(a.deployments || []).length ? `<span class="badge wait">${(a.deployments || []).length} in progress</span>` : ''}</td>` +
      `<td>${esc(waiting(queued.get(a.id)))}</td></tr>`;
  }
  if (!apps.length) html += '<tr class="empty"><td colspan="6">No apps</td></tr>';
  return html + '</tbody></table>';
}

function batchHTML({jobs}) {
  let html = `<h2>Jobs</h2><table id="jobs"><thead><tr><th>ID</th><th>Schedules</th><th>Active runs</th><th>Succeeded</th><th>Failed</th><th>Last success</th><th>Last failure</th></tr></thead><tbody>`;
  for (const j of jobs) {
    const h = j.historySummary || {};
    const runs = (j.activeRuns || []).map((r) => `${r.id} ${r.status}`).join(', ');
    const sched = (j.schedules || []).map((s) => `${s.cron}${s.nextRunAt ? ` (next ${s.nextRunAt})` : ''}`).join(', ');
    html += `<tr data-key="${esc(j.id)}"><td>${esc(j.id)}</td><td>${esc(sched)}</td><td>${esc(runs)}</td>` +
      `<td>${esc(h.successCount || 0)}</td><td>${esc(h.failureCount || 0)}</td><td>${esc(h.lastSuccessAt || '')}</td><td>${esc(h.lastFailureAt || '')}</td></tr>`;
  }
  if (!jobs.length) html += '<tr class="empty"><td colspan="7">No jobs</td></tr>';
  return html + '</tbody></table>';
}
