// Credentials for agents that want them (--authenticate_http_readonly). The browser keeps
// what its user typed for the master's origin to that origin, and a page's cross-origin
// fetches never get the browser's own login prompt, so the page asks for an agent's
// credentials itself when the agent answers 401: a small login form, once per agent origin at
// a time. What the user types is kept for the tab's session only (sessionStorage, never
// localStorage), by agent origin, and sent as an Authorization header, which the agent's CORS
// answer (--access_control_allow_origin) allows.

const STORE_KEY = 'agora.agentCredentials';

function loadAll() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE_KEY) || '{}') || {};
  } catch (e) {
    return {};
  }
}

function storeAll(all) {
  sessionStorage.setItem(STORE_KEY, JSON.stringify(all));
}

// credentialFor is the Authorization header value kept for an agent's origin, or ''.
export function credentialFor(origin) {
  return loadAll()[origin] || '';
}

function remember(origin, header) {
  const all = loadAll();
  all[origin] = header;
  storeAll(all);
}

function forget(origin) {
  const all = loadAll();
  delete all[origin];
  storeAll(all);
}

// basic is the HTTP Basic header value of a user and password, UTF-8 encoded.
export function basic(user, password) {
  let bin = '';
  for (const b of new TextEncoder().encode(`${user}:${password}`)) bin += String.fromCharCode(b);
  return 'Basic ' + btoa(bin);
}

// realmOf reads the realm of a Basic challenge ('' when there is none).
export function realmOf(challenge) {
  const m = /realm="([^"]*)"/i.exec(challenge || '');
  return m ? m[1] : '';
}

const prompts = new Map(); // agent origin → the open prompt's promise

// agentFetch is fetch for an agent's URL: it sends the credentials kept for the agent's
// origin and, when the agent answers 401, asks the user and tries again with what they
// typed, until they cancel (the 401 is then the answer). A same-origin URL is fetched as
// it is: the browser holds those credentials.
export async function agentFetch(url, init = {}) {
  const origin = new URL(url, location.href).origin;
  if (origin === location.origin) return fetch(url, init);
  for (;;) {
    const sent = credentialFor(origin);
    const headers = new Headers(init.headers || {});
    if (sent) headers.set('Authorization', sent);
    const resp = await fetch(url, {...init, headers});
    if (resp.status !== 401) return resp;
    const now = credentialFor(origin);
    if (now && now !== sent) continue; // another request got new credentials meanwhile
    const realm = realmOf(resp.headers.get('WWW-Authenticate'));
    const typed = await askOnce(origin, realm, sent ? 'The agent refused those credentials.' : '');
    if (!typed) {
      if (sent) forget(origin);
      return resp;
    }
    remember(origin, typed);
  }
}

function askOnce(origin, realm, problem) {
  if (!prompts.has(origin)) {
    prompts.set(origin, ask(origin, realm, problem).finally(() => prompts.delete(origin)));
  }
  return prompts.get(origin);
}

// ask shows the login form and resolves to the typed credentials' header value, or null
// when the user cancels.
function ask(origin, realm, problem) {
  return new Promise((resolve) => {
    const dialog = document.createElement('dialog');
    dialog.id = 'agent-login';
    dialog.dataset.origin = origin;
    dialog.innerHTML = `<form>
      <h2>Log in to an agent</h2>
      <p>The agent at <b class="origin"></b> wants credentials<span class="realm"></span>.
      They are kept for this tab only.</p>
      <p class="error problem"></p>
      <label>Principal <input name="user" autocomplete="username" required></label>
      <label>Secret <input name="password" type="password" autocomplete="current-password"></label>
      <div class="buttons"><button type="button" value="cancel">Cancel</button><button type="submit">Log in</button></div>
    </form>`;
    dialog.querySelector('.origin').textContent = origin;
    dialog.querySelector('.realm').textContent = realm ? ` (realm "${realm}")` : '';
    dialog.querySelector('.problem').textContent = problem;
    const form = dialog.querySelector('form');
    let answer = null;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      answer = basic(form.elements.user.value, form.elements.password.value);
      dialog.close();
    });
    dialog.querySelector('button[value="cancel"]').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.appendChild(dialog);
    dialog.showModal();
    form.elements.user.focus();
  });
}
