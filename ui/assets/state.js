// The cluster as the operator API describes it: the GET_STATE answer that SUBSCRIBED carries,
// kept current by the stream's events. Plain data in, plain data out; no DOM and no IO.

export const TERMINAL_STATES = new Set([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_LOST', 'TASK_ERROR',
  'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
]);

// The statuses kept per task; the stream may bring many for a flapping task.
const MAX_STATUSES = 20;

// SCALARS are the resources summed in the overview and the agents' rows.
export const SCALARS = ['cpus', 'gpus', 'mem', 'disk'];

// taskKey identifies a task: framework ids hold no '/', so the key is unambiguous.
export function taskKey(frameworkId, taskId) {
  return frameworkId + '/' + taskId;
}

export function isTerminal(state) {
  return TERMINAL_STATES.has(state);
}

// scalars sums the scalar resources of a Resource list by name.
export function scalars(resources) {
  const sum = {cpus: 0, gpus: 0, mem: 0, disk: 0};
  for (const r of resources || []) {
    if (r.type === 'SCALAR' && r.scalar && r.name in sum) sum[r.name] += r.scalar.value || 0;
  }
  return sum;
}

// ranges renders the ranges resources of a list ("ports [31000-31005]").
export function ranges(resources) {
  const out = [];
  for (const r of resources || []) {
    if (r.type !== 'RANGES' || !r.ranges) continue;
    const rs = (r.ranges.range || []).map((x) => (x.begin === x.end ? `${x.begin}` : `${x.begin}-${x.end}`));
    if (rs.length) out.push(`${r.name} [${rs.join(',')}]`);
  }
  return out.join(' ');
}

export class ClusterState {
  constructor() {
    this.reset();
  }

  reset() {
    this.agents = new Map();              // agent id → GetAgents.Agent
    this.frameworks = new Map();          // framework id → GetFrameworks.Framework
    this.completedFrameworks = new Map(); // framework id → GetFrameworks.Framework
    this.tasks = new Map();               // taskKey → Task
    this.heartbeatSeconds = 15;
    this.version = 0;                     // bumped by every change, for caches
    this.usageCache = null;
  }

  // load replaces the state with a GET_STATE answer (Response.GetState).
  load(st) {
    this.reset();
    const agents = (st && st.get_agents) || {};
    for (const a of agents.agents || []) this.agents.set(a.agent_info.id.value, a);
    const fws = (st && st.get_frameworks) || {};
    for (const f of fws.frameworks || []) this.frameworks.set(f.framework_info.id.value, f);
    for (const f of fws.completed_frameworks || []) this.completedFrameworks.set(f.framework_info.id.value, f);
    const tasks = (st && st.get_tasks) || {};
    for (const list of [tasks.pending_tasks, tasks.tasks, tasks.unreachable_tasks, tasks.completed_tasks, tasks.orphan_tasks]) {
      for (const t of list || []) this.tasks.set(taskKey(t.framework_id.value, t.task_id.value), t);
    }
    this.version++;
  }

  // apply folds one operator API event (master.Event) into the state and reports whether
  // anything changed.
  apply(ev) {
    switch (ev.type) {
      case 'SUBSCRIBED':
        this.load(ev.subscribed.get_state);
        if (ev.subscribed.heartbeat_interval_seconds) this.heartbeatSeconds = ev.subscribed.heartbeat_interval_seconds;
        return true;
      case 'TASK_ADDED': {
        const t = ev.task_added.task;
        this.tasks.set(taskKey(t.framework_id.value, t.task_id.value), t);
        break;
      }
      case 'TASK_UPDATED': {
        const u = ev.task_updated;
        const st = u.status;
        const key = taskKey(u.framework_id.value, st.task_id.value);
        let t = this.tasks.get(key);
        if (!t) {
          t = {task_id: st.task_id, framework_id: u.framework_id, agent_id: st.agent_id, name: st.task_id.value, statuses: []};
          this.tasks.set(key, t);
        }
        t.state = u.state;
        t.statuses = (t.statuses || []).concat([st]).slice(-MAX_STATUSES);
        break;
      }
      case 'AGENT_ADDED': {
        const a = ev.agent_added.agent;
        this.agents.set(a.agent_info.id.value, a);
        break;
      }
      case 'AGENT_REMOVED':
        this.agents.delete(ev.agent_removed.agent_id.value);
        break;
      case 'FRAMEWORK_ADDED':
      case 'FRAMEWORK_UPDATED': {
        const f = (ev.framework_added || ev.framework_updated).framework;
        const id = f.framework_info.id.value;
        this.completedFrameworks.delete(id);
        this.frameworks.set(id, f);
        break;
      }
      case 'FRAMEWORK_REMOVED': {
        const info = ev.framework_removed.framework_info;
        const id = info.id.value;
        const f = this.frameworks.get(id) || {framework_info: info};
        this.frameworks.delete(id);
        this.completedFrameworks.set(id, Object.assign({}, f, {active: false, connected: false}));
        break;
      }
      default:
        return false; // HEARTBEAT, and events this page does not show
    }
    this.version++;
    return true;
  }

  // usage sums the scalar resources of the tasks that are not terminal, per agent and in
  // all, counts them per framework and all tasks per state, and sums the agents' totals; it
  // is computed once per version.
  usage() {
    if (this.usageCache && this.usageCache.version === this.version) return this.usageCache;
    const byAgent = new Map();
    const byFramework = new Map(); // framework id → tasks not terminal
    const used = scalars([]);
    const byState = new Map();
    for (const t of this.tasks.values()) {
      byState.set(t.state, (byState.get(t.state) || 0) + 1);
      if (isTerminal(t.state)) continue;
      byFramework.set(t.framework_id.value, (byFramework.get(t.framework_id.value) || 0) + 1);
      const s = scalars(t.resources);
      const id = t.agent_id && t.agent_id.value;
      let a = byAgent.get(id);
      if (!a) byAgent.set(id, (a = {cpus: 0, gpus: 0, mem: 0, disk: 0, tasks: 0}));
      a.tasks++;
      for (const k of SCALARS) {
        a[k] += s[k];
        used[k] += s[k];
      }
    }
    const total = scalars([]);
    let active = 0;
    for (const a of this.agents.values()) {
      if (a.active) active++;
      const s = scalars(a.total_resources || a.agent_info.resources);
      for (const k of SCALARS) total[k] += s[k];
    }
    this.usageCache = {version: this.version, byAgent, byFramework, used, total, byState, activeAgents: active};
    return this.usageCache;
  }
}
