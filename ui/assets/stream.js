// The operator API's SUBSCRIBE stream: POST /api/v1 {"type":"SUBSCRIBE"} answered with JSON
// events in RecordIO, read with fetch() as the bytes arrive. The stream starts with
// SUBSCRIBED (the whole state); when it ends or falls silent for three heartbeats, it is
// opened again after a back-off, and the new SUBSCRIBED replaces the state.

import {RecordIOParser} from './recordio.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

export class OperatorStream {
  // onEvent(event) gets every decoded event; onStatus({state, error}) learns of
  // 'connecting', 'live' and 'disconnected'.
  constructor({url, onEvent, onStatus}) {
    Object.assign(this, {url, onEvent, onStatus});
    this.backoff = BACKOFF_MIN_MS;
    this.heartbeatSeconds = 15;
    this.stopped = false;
  }

  start() {
    this.loop();
  }

  stop() {
    this.stopped = true;
    if (this.abort) this.abort.abort();
  }

  async loop() {
    while (!this.stopped) {
      let error = 'stream ended';
      try {
        await this.once();
      } catch (e) {
        error = e && e.name === 'AbortError' ? 'no heartbeat from the master' : String(e && e.message ? e.message : e);
      }
      if (this.stopped) return;
      this.onStatus({state: 'disconnected', error, retryMs: this.backoff});
      await new Promise((r) => setTimeout(r, this.backoff));
      this.backoff = Math.min(BACKOFF_MAX_MS, this.backoff * 2);
    }
  }

  async once() {
    this.onStatus({state: 'connecting'});
    this.abort = new AbortController();
    const t0 = performance.now();
    this.timing = {};
    const resp = await fetch(sameOrigin(this.url), {
      method: 'POST',
      headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
      body: JSON.stringify({type: 'SUBSCRIBE'}),
      signal: this.abort.signal,
      cache: 'no-store',
    });
    if (!resp.ok) throw new Error(`SUBSCRIBE answered ${resp.status}: ${(await resp.text()).slice(0, 200)}`);
    this.timing.headersMs = performance.now() - t0;
    const reader = resp.body.getReader();
    const parser = new RecordIOParser();
    let watchdog = null;
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => this.abort.abort(), 3 * this.heartbeatSeconds * 1000);
    };
    arm();
    try {
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        arm();
        for (const rec of parser.push(value)) {
          const t1 = performance.now();
          const ev = JSON.parse(rec);
          if (ev.type === 'SUBSCRIBED') {
            // How long the first state took, for the benchmark: received, parsed, applied.
            const t2 = performance.now();
            this.backoff = BACKOFF_MIN_MS;
            if (ev.subscribed.heartbeat_interval_seconds) this.heartbeatSeconds = ev.subscribed.heartbeat_interval_seconds;
            this.onEvent(ev);
            Object.assign(this.timing, {receivedMs: t1 - t0, parseMs: t2 - t1, applyMs: performance.now() - t2});
            this.onStatus({state: 'live'});
            continue;
          }
          this.onEvent(ev);
        }
      }
    } finally {
      clearTimeout(watchdog);
    }
  }
}

// sameOrigin resolves url against this page's origin. A page opened with credentials in
// its URL (http://user:secret@master:5050/ui/) would resolve a relative URL to one that
// holds them, which fetch() refuses; the origin has none, and the browser sends the
// credentials it was given for this origin by itself.
export function sameOrigin(url) {
  return new URL(url, location.origin).href;
}

// call posts one synchronous operator call and returns the decoded response.
export async function operatorCall(type, extra) {
  const resp = await fetch(sameOrigin('/api/v1'), {
    method: 'POST',
    headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
    body: JSON.stringify(Object.assign({type}, extra || {})),
  });
  const text = await resp.text();
  if (!resp.ok) throw new Error(`${type} answered ${resp.status}: ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : {};
}
