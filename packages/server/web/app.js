// raftkv live view: draws the cluster from the node's /api/events feed (Server-Sent Events carrying
// every member's Admin.WatchStatus stream). No framework, no build step.
const SVG = 'http://www.w3.org/2000/svg';
const CENTER = { x: 300, y: 255 };
const RING_R = 185;
const NODE_R = 44;
const TIMER_R = 54;
const FLIGHT_MS = 650; // messages are slowed down to be seen
const MAX_FLIGHTS = 160;
const MAX_EVENTS_LISTED = 60;
const MESSAGE_KINDS = new Set([
  'vote-request',
  'vote-response',
  'heartbeat',
  'heartbeat-response',
  'append',
  'append-response',
  'timeout-now',
  'snapshot',
]);
const NOTABLE = new Set([
  'became-leader',
  'became-candidate',
  'became-pre-candidate',
  'became-follower',
  'step-down',
  'vote-granted',
  'vote-rejected',
  'transfer',
  'conf-changed',
  'log-truncated',
]);

/** id -> { id, address, connected, error, status, detail, since, sinceAt } */
const nodes = new Map();
let features = { transfer: false, devControls: false };
let self = '';
const flights = [];
const $ = (sel) => document.querySelector(sel);
const el = (tag, attrs = {}, parent) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.appendChild(e);
  return e;
};

// ---- feed ----

function connect() {
  const es = new EventSource('api/events');
  const conn = $('#conn');
  es.onopen = () => {
    conn.dataset.state = 'open';
    conn.title = 'connected';
  };
  es.onerror = () => {
    conn.dataset.state = es.readyState === EventSource.CLOSED ? 'closed' : 'connecting';
    conn.title = 'reconnecting…';
  };
  es.addEventListener('hello', (ev) => {
    const h = JSON.parse(ev.data);
    self = h.self;
    features = h.features;
    for (const m of h.members) upsert({ id: m.id, address: m.address, connected: false, error: 'connecting', events: [] });
    layout();
  });
  es.addEventListener('node', (ev) => upsert(JSON.parse(ev.data)));
}

function upsert(u) {
  let n = nodes.get(u.id);
  const isNew = !n;
  if (!n) {
    n = { id: u.id, address: u.address, connected: false, error: '', status: null, detail: null, since: 0, sinceAt: performance.now() };
    nodes.set(u.id, n);
  }
  n.connected = u.connected;
  n.error = u.error;
  if (u.status) n.status = u.status;
  if (u.detail) n.detail = u.detail;
  if (u.connected) {
    n.since = u.sinceLeaderContactMs;
    n.sinceAt = performance.now();
  }
  if (isNew) layout();
  for (const e of u.events || []) onEvent(e);
  if (u.eventsDropped > 0) n.dropped = (n.dropped || 0) + u.eventsDropped;
  render();
}

function onEvent(e) {
  if (MESSAGE_KINDS.has(e.kind) && e.to && nodes.has(e.from) && nodes.has(e.to)) launch(e);
  if (NOTABLE.has(e.kind)) listEvent(e);
  // A heartbeat or append reaching a follower resets its election timer on the page at once.
  if ((e.kind === 'heartbeat' || e.kind === 'append') && nodes.has(e.to)) {
    const n = nodes.get(e.to);
    n.since = 0;
    n.sinceAt = performance.now() + FLIGHT_MS;
  }
}

// ---- layout and drawing ----

const pos = new Map();
function layout() {
  const ids = [...nodes.keys()].sort();
  const k = ids.length;
  ids.forEach((id, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, k);
    pos.set(id, { x: CENTER.x + RING_R * Math.cos(a), y: CENTER.y + RING_R * Math.sin(a) });
  });
  const links = $('#links');
  links.replaceChildren();
  for (let i = 0; i < k; i++)
    for (let j = i + 1; j < k; j++) {
      const a = pos.get(ids[i]),
        b = pos.get(ids[j]);
      el('line', { class: 'link', x1: a.x, y1: a.y, x2: b.x, y2: b.y }, links);
    }
  const g = $('#nodes');
  g.replaceChildren();
  for (const id of ids) {
    const p = pos.get(id);
    const grp = el('g', { class: 'node', 'data-node': id, transform: `translate(${p.x},${p.y})` }, g);
    el('circle', { class: 'crown', r: TIMER_R + 8 }, grp);
    el('circle', { class: 'timer-bg', r: TIMER_R }, grp);
    el('circle', { class: 'timer', r: TIMER_R, transform: 'rotate(-90)' }, grp);
    el('line', { class: 'min-mark', x1: 0, y1: -TIMER_R - 5, x2: 0, y2: -TIMER_R + 5 }, grp);
    el('circle', { class: 'body', r: NODE_R }, grp);
    el('text', { class: 'id', y: -4 }, grp).textContent = id;
    el('text', { class: 'term', y: 14 }, grp);
    el('text', { class: 'role', y: TIMER_R + 26 }, grp);
  }
}

const roleOf = (n) => (!n.connected ? 'down' : (n.status?.role ?? 'follower'));

function render() {
  const list = [...nodes.values()].sort((a, b) => a.id.localeCompare(b.id));
  // Nodes
  for (const n of list) {
    const g = document.querySelector(`#nodes [data-node="${CSS.escape(n.id)}"]`);
    if (!g) continue;
    const role = roleOf(n);
    g.setAttribute('class', `node ${role}`);
    g.dataset.role = n.status?.role ?? 'unknown';
    g.dataset.connected = String(n.connected);
    g.dataset.term = String(n.status?.term ?? 0);
    g.querySelector('.term').textContent = n.status ? `term ${n.status.term}` : '';
    g.querySelector('.role').textContent = n.connected ? role : `unreachable`;
    g.querySelector('.crown').style.display = role === 'leader' ? '' : 'none';
    g.querySelector('.min-mark').style.display = role === 'follower' || role === 'candidate' ? '' : 'none';
    if (n.detail) {
      const a = (2 * Math.PI * n.detail.electionTimeoutMinMs) / n.detail.electionTimeoutMaxMs - Math.PI / 2;
      const m = g.querySelector('.min-mark');
      m.setAttribute('transform', `rotate(${((a + Math.PI / 2) * 180) / Math.PI})`);
    }
  }
  // Summary: the leader as the members report it.
  const leaders = list.filter((n) => n.connected && n.status?.role === 'leader');
  const top = leaders.sort((a, b) => b.status.term - a.status.term)[0];
  const sum = $('#summary');
  sum.dataset.leaderCount = String(leaders.length);
  sum.dataset.leader = top ? top.id : '';
  sum.dataset.term = String(top ? top.status.term : Math.max(0, ...list.map((n) => n.status?.term ?? 0)));
  const up = list.filter((n) => n.connected).length;
  sum.textContent = top
    ? `leader ${top.id} · term ${top.status.term} · commit ${top.status.commitIndex} · ${up}/${list.length} members reachable · served by ${self}`
    : `no leader · ${up}/${list.length} members reachable · served by ${self}`;
  renderLogs(list);
  renderMembers(list);
}

function termColour(term) {
  const hue = (term * 67) % 360;
  return { fill: `hsl(${hue} 55% 38%)`, stroke: `hsl(${hue} 60% 60%)` };
}

function renderLogs(list) {
  const box = $('#logs');
  box.replaceChildren();
  for (const n of list) {
    const row = document.createElement('div');
    row.className = 'log';
    row.dataset.node = n.id;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = n.id;
    row.appendChild(who);
    const commit = n.status?.commitIndex ?? 0;
    for (const e of n.detail?.logTail ?? []) {
      const c = termColour(e.term);
      const b = document.createElement('span');
      b.className = `e ${e.index <= commit ? 'committed' : 'uncommitted'}`;
      b.style.background = c.fill;
      b.style.borderColor = c.stroke;
      b.title = `index ${e.index}, term ${e.term}: ${e.op}${e.key ? ' ' + e.key : ''}${e.index <= commit ? ' (committed)' : ''}`;
      b.innerHTML = `${e.index}<small>t${e.term}</small>`;
      row.appendChild(b);
    }
    if (!n.connected) row.style.opacity = '0.45';
    box.appendChild(row);
  }
}

function renderMembers(list) {
  const body = $('#members tbody');
  body.replaceChildren();
  const leader = list.find((n) => n.connected && n.status?.role === 'leader');
  for (const n of list) {
    const tr = document.createElement('tr');
    tr.dataset.node = n.id;
    const s = n.status;
    const cells = [
      n.id,
      n.connected ? (s?.role ?? '?') : 'unreachable',
      s?.term ?? '',
      s?.commitIndex ?? '',
      s?.appliedIndex ?? '',
      s?.lastLogIndex ?? '',
    ];
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = String(c);
      tr.appendChild(td);
    }
    const td = document.createElement('td');
    if (features.transfer && leader && leader.id !== n.id && n.connected)
      td.appendChild(button('make leader', () => act('transfer', { to: n.id }), 'transfer'));
    if (features.devControls) {
      if (n.connected) td.appendChild(button('stop', () => act('dev/stop', { id: n.id }), 'stop'));
      else td.appendChild(button('start', () => act('dev/start', { id: n.id }), 'start'));
    }
    if (!n.connected && n.error) td.title = n.error;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function button(label, fn, action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.dataset.action = action;
  b.addEventListener('click', fn);
  return b;
}

const listed = new Set();
function listEvent(e) {
  // A reconnected stream starts with the node's recent history again: list each event once.
  const key = `${e.from}|${e.kind}|${e.term}|${e.to}|${e.atMs}`;
  if (listed.has(key)) return;
  listed.add(key);
  if (listed.size > 4 * MAX_EVENTS_LISTED) listed.delete(listed.values().next().value);
  const ol = $('#events');
  const li = document.createElement('li');
  const t = document.createElement('time');
  t.textContent = new Date(e.atMs).toLocaleTimeString([], { hour12: false }) + '.' + String(e.atMs % 1000).padStart(3, '0');
  li.appendChild(t);
  const who = e.to ? `${e.from} → ${e.to}` : e.from;
  li.appendChild(document.createTextNode(`${who}: ${e.kind} (term ${e.term})${e.detail ? ' — ' + e.detail : ''}`));
  li.dataset.at = String(e.atMs);
  // Newest first by the nodes' clocks: events from different members arrive interleaved.
  let before = ol.firstElementChild;
  while (before && Number(before.dataset.at) > e.atMs) before = before.nextElementSibling;
  ol.insertBefore(li, before);
  while (ol.children.length > MAX_EVENTS_LISTED) ol.lastChild.remove();
}

// ---- messages in flight ----

function launch(e) {
  if (flights.length >= MAX_FLIGHTS) return; // the page keeps up by showing fewer, never by lagging
  const cls = e.reject ? 'm-reject' : `m-${e.kind}`;
  const big = e.kind === 'append' && e.entries > 0;
  const g = el('g', { class: 'flight' }, $('#messages'));
  el('circle', { class: cls, r: big ? 7 + Math.min(6, Math.log2(e.entries)) : e.kind.startsWith('heartbeat') ? 4 : 6 }, g);
  if (big) el('text', { class: 'msg-label', y: -10 }, g).textContent = String(e.entries);
  flights.push({ g, from: e.from, to: e.to, start: performance.now() });
}

function animate(now) {
  for (let i = flights.length - 1; i >= 0; i--) {
    const f = flights[i];
    const t = (now - f.start) / FLIGHT_MS;
    const a = pos.get(f.from),
      b = pos.get(f.to);
    if (t >= 1 || !a || !b) {
      f.g.remove();
      flights.splice(i, 1);
      continue;
    }
    // Start and end at the circles' edges.
    const dx = b.x - a.x,
      dy = b.y - a.y,
      len = Math.hypot(dx, dy) || 1;
    const s = NODE_R / len,
      u = s + (1 - 2 * s) * t;
    f.g.setAttribute('transform', `translate(${a.x + dx * u},${a.y + dy * u})`);
  }
  // Election timers
  const C = 2 * Math.PI * TIMER_R;
  for (const n of nodes.values()) {
    const g = document.querySelector(`#nodes [data-node="${CSS.escape(n.id)}"] .timer`);
    if (!g) continue;
    const role = roleOf(n);
    let frac = 0;
    if ((role === 'follower' || role === 'candidate') && n.detail) {
      const since = n.since + Math.max(0, now - n.sinceAt);
      frac = Math.min(1, since / n.detail.electionTimeoutMaxMs);
      g.classList.toggle('late', since >= n.detail.electionTimeoutMinMs);
    }
    g.setAttribute('stroke-dasharray', `${C * frac} ${C}`);
  }
  requestAnimationFrame(animate);
}

// ---- actions ----

async function call(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const j = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(j.error || `HTTP ${r.status}`);
  return j;
}

function show(out, text, error) {
  out.textContent = text;
  out.classList.toggle('error', !!error);
}

async function act(what, body) {
  const out = $('#action-result');
  try {
    await call('POST', `api/${what}`, body);
    show(out, `${what.replace('dev/', '')} ${body.to ?? body.id}: ok`);
  } catch (e) {
    show(out, `${what} failed: ${e.message}`, true);
  }
}

$('#kv').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('#kv-result');
  const key = $('#key').value,
    value = $('#value').value;
  show(out, 'writing…');
  try {
    const r = await call('POST', 'api/put', { key, value });
    show(out, `put ${key}: committed at index ${r.index} (term ${r.term}, leader ${r.leaderId})`);
    out.dataset.index = String(r.index);
  } catch (e) {
    show(out, `put failed: ${e.message}`, true);
  }
});

$('#get').addEventListener('click', async () => {
  const out = $('#kv-result');
  const key = $('#key').value;
  if (!key) return show(out, 'enter a key', true);
  try {
    const r = await call('GET', `api/get?key=${encodeURIComponent(key)}&consistency=${$('#consistency').value}`);
    show(out, r.found ? `${key} = ${JSON.stringify(r.value)} (index ${r.index})` : `${key} not found (index ${r.index})`);
  } catch (e) {
    show(out, `get failed: ${e.message}`, true);
  }
});

connect();
requestAnimationFrame(animate);
