'use strict';
// The operator dashboard: plain DOM and hand-drawn SVG, no libraries, no inline script (CSP: script-src 'self').
// The API key lives in sessionStorage only and goes out as X-API-Key on every JSON request.

const KEY_STORE = 'poet.apiKey';
const HIT_RATES = 'poet.cacheHitRates';
const REFRESH_MS = 5000;
const COLORS = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00'];

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, options = {}) {
  const headers = { 'x-api-key': sessionStorage.getItem(KEY_STORE) ?? '', ...(options.headers ?? {}) };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...options, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await res.text();
  const body = text ? JSON.parse(text) : undefined;
  if (res.status === 401) signOut('the API key was refused');
  if (!res.ok && res.status !== 202) throw new ApiError(res.status, body);
  return { status: res.status, body };
}

// ---- sign-in ----

function signOut(message) {
  sessionStorage.removeItem(KEY_STORE);
  $('main').hidden = true;
  $('sign-out').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').textContent = message ?? '';
}

async function signIn(key) {
  sessionStorage.setItem(KEY_STORE, key);
  try {
    await api('/api/v1/domains');
  } catch (err) {
    signOut(err.message);
    return;
  }
  $('sign-in').hidden = true;
  $('main').hidden = false;
  $('sign-out').hidden = false;
  await Promise.all([loadDomains(), refresh()]);
}

// ---- health and circuit breakers ----

async function loadHealth() {
  const res = await fetch('/health/ready');
  const readiness = await res.json();
  const badge = $('health-status');
  badge.textContent = readiness.status;
  badge.className = `badge ${readiness.status}`;
  const rows = Object.entries(readiness.checks).map(([name, check]) =>
    el('tr', {}, el('td', { text: name }), el('td', {}, el('span', { class: `badge ${check.status}`, text: check.status })),
      el('td', { text: `${check.latency_ms} ms` }), el('td', { text: check.error ?? '' })));
  $('health').tBodies[0].replaceChildren(...rows);
  const providers = readiness.checks.llm?.details?.providers ?? {};
  const items = Object.entries(providers).map(([name, state]) =>
    el('li', {}, `${name} `, el('span', { class: `badge ${state}`, text: state })));
  $('breakers').replaceChildren(...(items.length ? items : [el('li', { text: 'no LLM providers configured: the offline template enhancer serves' })]));
}

// ---- encryption key rotation (operators of the operator tenant; hidden for anyone else) ----

async function loadRotation() {
  let view;
  try {
    ({ body: view } = await api('/api/v1/admin/key-rotation'));
  } catch (err) {
    if (err.status === 403) {
      $('rotation-panel').hidden = true;
      return;
    }
    throw err;
  }
  $('rotation-panel').hidden = false;
  const { active_key_id: key, rotation } = view;
  const badge = $('rotation-status');
  badge.textContent = rotation?.status ?? 'none';
  badge.className = `badge ${rotation?.status ?? ''}`;
  const p = rotation?.progress;
  let summary;
  if (key === null) summary = 'encryption is off';
  else if (!rotation) summary = `no rotation to key ${key} started (poet keys rotate-data)`;
  else if (!p) summary = `rotation to key ${key}: between two runs of its chain`;
  else {
    const byKey = Object.entries(p.by_key).map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
    const unreadable = Object.entries(p.unreadable).map(([k, n]) => `${n} under ${k}`).join(', ');
    summary = `rotation to key ${key}: ${p.done} re-encrypted (${byKey}), ${p.remaining ?? '?'} left, ${p.pages} pages, run ${p.runs}` +
      (unreadable ? `; unreadable: ${unreadable}` : '');
  }
  $('rotation-summary').textContent = summary;
  const total = p ? p.done + (p.remaining ?? 0) : 0;
  $('rotation-bar').value = p?.complete ? 1 : total > 0 ? p.done / total : 0;
}

// ---- cache hit rate over time (sampled by this page; the server keeps totals) ----

async function loadCache() {
  const { body: stats } = await api('/api/v1/cache/stats');
  const layers = stats.layers.map((l) => `${l.layer}: ${l.hits} hits / ${l.misses} misses`).join(' · ');
  const rate = stats.overall_hit_rate;
  $('cache-summary').textContent = `hit rate ${rate === null ? 'n/a' : `${(rate * 100).toFixed(1)} %`} (${layers})`;
  const samples = JSON.parse(sessionStorage.getItem(HIT_RATES) ?? '[]');
  if (rate !== null) samples.push({ t: Date.now(), rate });
  const kept = samples.slice(-120);
  sessionStorage.setItem(HIT_RATES, JSON.stringify(kept));
  $('cache-chart').replaceChildren(lineChart(kept));
}

function lineChart(samples) {
  const W = 420, H = 120, P = 24;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'cache hit rate over time' });
  root.append(svg('line', { x1: P, y1: H - P, x2: W - 4, y2: H - P, stroke: '#999' }), svg('text', { x: 0, y: P }, '100%'), svg('text', { x: 0, y: H - P }, '0%'));
  if (samples.length === 0) return root;
  const t0 = samples[0].t, span = Math.max(1, samples[samples.length - 1].t - t0);
  const points = samples.map((s) => `${P + ((s.t - t0) / span) * (W - P - 8)},${H - P - s.rate * (H - 2 * P)}`);
  root.append(svg('polyline', { points: points.join(' '), fill: 'none', stroke: COLORS[0], 'stroke-width': 2 }));
  return root;
}

// ---- cost and tokens per provider and day: stacked bars ----

function stackedBars(days, providers, valueOf, format) {
  const W = 480, H = 180, P = 30;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img' });
  const totals = days.map((day) => providers.reduce((sum, p) => sum + (valueOf(day, p) ?? 0), 0));
  const max = Math.max(...totals, 0) || 1;
  const step = (W - P) / Math.max(days.length, 1);
  root.append(svg('text', { x: 0, y: 12 }, format(max)), svg('line', { x1: P, y1: H - P, x2: W, y2: H - P, stroke: '#999' }));
  days.forEach((day, i) => {
    let y = H - P;
    providers.forEach((provider, j) => {
      const h = ((valueOf(day, provider) ?? 0) / max) * (H - 2 * P);
      if (h > 0) {
        y -= h;
        const bar = svg('rect', { x: P + i * step + 2, y, width: Math.max(step - 4, 1), height: h, fill: COLORS[j % COLORS.length] });
        bar.append(svg('title', {}, `${day} ${provider}: ${format(valueOf(day, provider))}`));
        root.append(bar);
      }
    });
    if (days.length <= 14 || i % 2 === 0) root.append(svg('text', { x: P + i * step + 2, y: H - P + 12 }, day.slice(5)));
  });
  return root;
}

function legend(providers) {
  return el('div', { class: 'legend' }, ...providers.map((p, j) =>
    el('span', {}, swatch(COLORS[j % COLORS.length]), p)));
}

/** Colour set through the CSSOM: a style attribute would need CSP's 'unsafe-inline'. */
function swatch(color) {
  const node = el('span', { class: 'swatch' });
  node.style.background = color;
  return node;
}

async function loadCosts() {
  const { body } = await api('/api/v1/costs?days=14');
  const days = [];
  for (let d = new Date(`${body.from}T00:00:00Z`); d <= new Date(`${body.to}T00:00:00Z`); d = new Date(d.getTime() + 86400000)) {
    days.push(d.toISOString().slice(0, 10));
  }
  const providers = [...new Set(body.rows.map((r) => r.provider))].sort();
  if (providers.length === 0) {
    const none = `no LLM calls from ${body.from} to ${body.to}: the offline template enhancer costs nothing`;
    $('cost-chart').replaceChildren(el('p', { text: none }));
    $('token-chart').replaceChildren(el('p', { text: none }));
    return;
  }
  const byKey = new Map(body.rows.map((r) => [`${r.day}|${r.provider}`, r]));
  const row = (day, p) => byKey.get(`${day}|${p}`);
  $('cost-chart').replaceChildren(stackedBars(days, providers, (d, p) => row(d, p)?.cost_usd, (v) => `$${(v ?? 0).toFixed(4)}`), legend(providers));
  $('token-chart').replaceChildren(
    stackedBars(days, providers, (d, p) => { const r = row(d, p); return r && r.tokens.input + r.tokens.output; }, (v) => `${v ?? 0}`),
    legend(providers),
  );
}

// ---- recent runs ----

async function loadRuns() {
  const { body } = await api('/api/v1/runs?limit=20');
  const rows = body.runs.map((run) => el('tr', {},
    el('td', { class: 'code', text: run.workflow_id }),
    el('td', { text: run.function_name ?? '' }),
    el('td', { text: run.domain ?? '' }),
    el('td', { text: run.cache ?? '' }),
    el('td', {}, el('span', { class: `badge ${run.status}`, text: run.status })),
    el('td', { text: new Date(run.started_at).toLocaleString() }),
    el('td', {}, run.temporal_ui_url ? el('a', { href: run.temporal_ui_url, target: '_blank', rel: 'noopener', text: 'Temporal UI' }) : '')));
  $('runs').tBodies[0].replaceChildren(...rows);
}

// ---- live progress: the run's Server-Sent Events, read with fetch (EventSource cannot send the API key header) ----

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads one SSE response as it arrives and calls onMessage({id, event, data}) per message; `retry:` lines go to
 * onRetry. Resolves when the server closes the stream (or it breaks: the caller cannot tell, and need not).
 */
async function readSse(res, onMessage, onRetry) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  let message = { data: [] };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffered += value;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      if (line === '') {
        if (message.data.length) onMessage({ id: message.id, event: message.event ?? 'message', data: message.data.join('\n') });
        message = { data: [] };
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') message.data.push(text);
        else if (field === 'event') message.event = text;
        else if (field === 'id') message.id = text;
        else if (field === 'retry' && /^\d+$/.test(text)) onRetry(Number(text));
      }
    }
  }
}

/**
 * Follows a run until it ends; resolves with its final GET /api/v1/runs/{id} body. onUpdate(status, history) gets
 * every stage transition as it happens. A broken stream is resumed after the server's `retry:` delay with
 * Last-Event-ID (the server then sends only the transitions missed); after three breaks in a row the page polls.
 */
async function watchRun(workflowId, onUpdate) {
  const path = `/api/v1/runs/${encodeURIComponent(workflowId)}`;
  const history = [];
  let lastId;
  let retryMs = 2000;
  let breaks = 0;
  while (breaks < 3) {
    const headers = { 'x-api-key': sessionStorage.getItem(KEY_STORE) ?? '', accept: 'text/event-stream' };
    if (lastId !== undefined) headers['last-event-id'] = lastId;
    let res;
    try {
      res = await fetch(`${path}/events`, { headers });
    } catch (err) {
      console.warn('run events', err);
    }
    // Refused (another tenant's run, a revoked key): polling would be refused the same way.
    if (res && res.status < 500 && !res.ok) {
      if (res.status === 401) signOut('the API key was refused');
      throw new ApiError(res.status, await res.json().catch(() => undefined));
    }
    let ended = false;
    let progressed = false;
    if (res?.ok) {
      await readSse(res, (m) => {
        if (m.id !== undefined) lastId = m.id;
        if (m.event === 'stage') {
          history.push(JSON.parse(m.data));
          progressed = true;
          onUpdate('running', history);
        } else if (m.event === 'end') ended = true;
      }, (ms) => { retryMs = ms; }).catch((err) => console.warn('run events', err));
    }
    if (ended) break;
    breaks = progressed ? 1 : breaks + 1;
    await sleep(retryMs);
  }
  for (;;) {
    const { body } = await api(path);
    const seen = body.progress?.history ?? [];
    if (seen.length > history.length) history.push(...seen.slice(history.length));
    onUpdate(body.status, history, body);
    if (body.status !== 'running') return body;
    await sleep(700);
  }
}

/** One entry per stage transition, in order, with the time since the run was queued; the latest is current until the run ends. */
function renderProgress(workflowId, status, history, body) {
  const start = history.length ? Date.parse(history[0].at) : 0;
  const items = history.map((t, i) => {
    const last = i === history.length - 1;
    const state = last && status === 'running' ? 'current' : t.stage === 'failed' || t.stage === 'canceled' ? 'failed' : 'done';
    const seconds = ((Date.parse(t.at) - start) / 1000).toFixed(1);
    return el('li', { class: state, 'data-stage': t.stage, title: t.detail ?? '', text: `${t.stage} +${seconds}s${t.detail ? ` · ${t.detail}` : ''}` });
  });
  const lines = [
    el('div', {}, el('span', { class: 'code', text: workflowId }), ' ', el('span', { class: `badge ${status}`, id: 'run-status', text: status })),
    el('ol', { class: 'stages', id: 'run-stages' }, ...items),
  ];
  if (body?.result) lines.push(el('p', { id: 'run-result', text: `version ${body.result.version} · safety ${body.result.metadata.safety_level} · cache ${body.result.metadata.cache} · ${body.result.metadata.provider}` }));
  if (body?.error) lines.push(el('p', { class: 'error', text: `${body.error.code}: ${body.error.message}` }));
  $('progress').replaceChildren(...lines);
}

async function startEnhancement(event) {
  event.preventDefault();
  const request = { function_name: $('enhance-name').value.trim(), original_code: $('enhance-code').value, domain: $('enhance-domain').value };
  $('progress').replaceChildren(el('p', { text: 'starting…' }));
  try {
    const { body } = await api('/api/v1/functions/enhance', { method: 'POST', body: request, headers: { prefer: 'respond-async' } });
    const workflowId = body.run.workflow_id;
    renderProgress(workflowId, 'running', []);
    await watchRun(workflowId, (status, history, final) => renderProgress(workflowId, status, history, final));
    await Promise.all([loadRuns(), loadFunctions(), loadCache()]);
  } catch (err) {
    const details = (err.body?.error?.details ?? []).map((d) => `${d.path}: ${d.message}`).join('; ');
    $('progress').replaceChildren(el('p', { class: 'error', text: `${err.message}${details ? ` (${details})` : ''}` }));
  }
}

async function loadDomains() {
  const { body } = await api('/api/v1/domains');
  $('enhance-domain').replaceChildren(...body.domains.map((d) => el('option', { value: d.name, text: d.name })));
}

// ---- functions, versions, feedback metrics, field outcomes and the side-by-side diff ----

let selectedFunction;

async function loadFunctions() {
  const { body: list } = await api('/api/v1/functions?limit=100');
  $('functions').replaceChildren(...list.functions.map((fn) =>
    el('li', {}, Object.assign(el('button', { type: 'button', 'data-function': fn.function_name, text: `${fn.function_name} (v${fn.current_version ?? '-'}, ${fn.version_count})` }), {
      onclick: () => loadVersions(fn.function_name),
    }))));
  if (selectedFunction) await loadVersions(selectedFunction);
}

const metric = (value, digits = 2) => (value === null || value === undefined ? '–' : Number(value).toFixed(digits));

async function loadVersions(name) {
  selectedFunction = name;
  const { body } = await api(`/api/v1/functions/${encodeURIComponent(name)}/versions`);
  const options = body.versions.map((v) => el('option', { value: String(v.version), text: `v${v.version}` }));
  const from = el('select', { id: 'diff-from' }, ...options.map((o) => o.cloneNode(true)));
  const to = el('select', { id: 'diff-to' }, ...options);
  // Default comparison: the two newest versions.
  const numbers = body.versions.map((v) => v.version).sort((x, y) => x - y);
  from.value = String(numbers[Math.max(0, numbers.length - 2)]);
  to.value = String(numbers[numbers.length - 1]);
  // What the runtime reported from the field over the last 24 h, per version.
  const field = await Promise.all(body.versions.map((v) =>
    api(`/api/v1/functions/${encodeURIComponent(name)}/versions/${v.version}/outcomes?window=24h`).then((r) => r.body, () => null)));
  const topError = (f) => (f?.errors?.length ? `${f.errors[0].exception_type} ${f.errors[0].count}` : '–');
  const rows = body.versions.map((v, i) => el('tr', { 'data-version': String(v.version) },
    el('td', { text: `v${v.version}` }), el('td', {}, el('span', { class: `badge ${v.status}`, text: v.status })),
    el('td', { text: v.domain }), el('td', { text: v.safety_level }), el('td', { text: String(v.metrics.feedback_count) }),
    el('td', { text: metric(v.metrics.success_rate) }), el('td', { text: metric(v.metrics.error_rate) }), el('td', { text: metric(v.metrics.avg_duration, 3) }),
    el('td', { class: 'field-calls', text: String(field[i]?.calls ?? '–') }), el('td', { class: 'field-success', text: metric(field[i]?.success_rate, 3) }),
    el('td', { class: 'field-p50', text: metric(field[i]?.latency_ms.p50, 1) }), el('td', { class: 'field-p95', text: metric(field[i]?.latency_ms.p95, 1) }),
    el('td', { class: 'field-error', text: topError(field[i]) })));
  const compare = Object.assign(el('button', { type: 'button', id: 'diff-open', text: 'Compare' }), { onclick: () => loadDiff(name, from.value, to.value) });
  const rollout = await loadRollout(name);
  $('versions').replaceChildren(
    el('h3', { text: name }),
    el('table', {}, el('thead', {}, el('tr', {}, ...['version', 'status', 'domain', 'safety', 'feedback', 'success', 'errors', 'avg s', 'field calls 24h', 'field success', 'p50 ms', 'p95 ms', 'top error'].map((h) => el('th', { text: h })))), el('tbody', {}, ...rows)),
    el('p', {}, 'diff ', from, ' → ', to, ' ', compare),
    rollout);
}

// ---- the function's latest rollout: its steps, its decisions with their figures, both versions side by side ----

const fnPath = (name) => `/api/v1/functions/${encodeURIComponent(name)}`;
const outcomesOf = (name, version) => api(`${fnPath(name)}/versions/${version}/outcomes?window=24h`).then((r) => r.body);
const percent = (share) => (share === undefined || share === null ? '–' : `${share} %`);
const errorMix = (f) => (f.errors.length ? f.errors.map((e) => `${e.exception_type} ${e.count}`).join(', ') : '–');
const figuresText = (f) => (f ? `v${f.version}: ${f.successes}/${f.calls} ok, p95 ${metric(f.p95_ms, 1)} ms` : '');

/** A step's state: those passed are done; the one the run is at shows the run's status (current for any not ended). */
function stepState(rollout, index) {
  if (rollout.status === 'promoted') return 'done';
  if (index < rollout.step_index) return 'done';
  if (index > rollout.step_index) return 'pending';
  return { paused: 'paused', rolled_back: 'failed', aborted: 'failed' }[rollout.status] ?? 'current';
}

/** The rollout view, or a line saying there is none; only asks for the rollout once its events show there is one. */
async function loadRollout(name) {
  const { body: started } = await api(`${fnPath(name)}/events?event_type=rollout.started&limit=1`);
  if (started.events.length === 0) return el('p', { id: 'rollout', text: 'no rollout' });
  const runId = started.events[0].run_id;
  const [{ body: rollout }, { body: recent }] = await Promise.all([
    api(`${fnPath(name)}/rollouts/current`),
    api(`${fnPath(name)}/events?limit=200`),
  ]);
  const [candidate, baseline] = await Promise.all([
    outcomesOf(name, rollout.candidate_version),
    outcomesOf(name, rollout.baseline_version),
  ]);
  const steps = rollout.steps.map((share, i) => el('li', { class: stepState(rollout, i), 'data-percent': String(share), text: percent(share) }));
  const figure = (label, key, value) => el('tr', { 'data-figure': key }, el('th', { text: label }),
    el('td', { class: 'candidate', text: value(candidate) }), el('td', { class: 'baseline', text: value(baseline) }));
  const figures = el('table', { id: 'rollout-figures' },
    el('thead', {}, el('tr', {}, el('th', { text: 'field, 24 h' }), el('th', { text: `candidate v${rollout.candidate_version}` }), el('th', { text: `active v${rollout.baseline_version}` }))),
    el('tbody', {},
      figure('calls', 'calls', (f) => String(f.calls)),
      figure('success rate', 'success', (f) => metric(f.success_rate, 3)),
      figure('p50 ms', 'p50', (f) => metric(f.latency_ms.p50, 1)),
      figure('p95 ms', 'p95', (f) => metric(f.latency_ms.p95, 1)),
      figure('error mix', 'errors', errorMix)));
  // The decisions of this run, oldest first; the payload carries the figures that made each.
  const decisions = recent.events.filter((e) => e.run_id === runId && e.event_type.startsWith('rollout.')).reverse();
  const rows = decisions.map((e) => {
    const p = e.payload;
    const j = p.judgement;
    return el('tr', { 'data-event': e.event_type },
      el('td', { text: new Date(e.created_at).toLocaleTimeString() }),
      el('td', { class: 'decision', text: e.event_type.slice('rollout.'.length) }),
      el('td', { class: 'share', text: p.from_percent === undefined ? percent(p.share_percent) : `${percent(p.from_percent)} → ${percent(p.share_percent ?? 100)}` }),
      el('td', { class: 'verdict', text: j?.verdict ?? p.reason ?? (p.forced ? 'forced' : '') }),
      el('td', { class: 'candidate', text: figuresText(j?.candidate) }),
      el('td', { class: 'baseline', text: figuresText(j?.baseline) }),
      el('td', { class: 'z', text: metric(j?.z, 3) }),
      el('td', { class: 'p95-ratio', text: metric(j?.p95_ratio, 3) }));
  });
  return el('div', { id: 'rollout' },
    el('h3', {}, `rollout of v${rollout.candidate_version} against v${rollout.baseline_version} `,
      el('span', { id: 'rollout-status', class: `badge ${rollout.status}`, text: rollout.status }),
      el('span', { id: 'rollout-share', text: ` candidate share ${percent(rollout.share_percent)}` })),
    el('ol', { class: 'stages', id: 'rollout-steps' }, ...steps),
    figures,
    el('table', { id: 'rollout-decisions' },
      el('thead', {}, el('tr', {}, ...['time', 'decision', 'share', 'verdict', 'candidate', 'baseline', 'z', 'p95 ratio'].map((h) => el('th', { text: h })))),
      el('tbody', {}, ...rows)),
    rollout.last_judgement ? el('p', { id: 'rollout-judgement', text: `last judgement: ${rollout.last_judgement.verdict}: ${rollout.last_judgement.reason}` }) : '');
}

/** A unified patch as two columns: removed lines left, added lines right, context on both. */
function sideBySide(patch) {
  const grid = el('div', { class: 'diff', id: 'diff-grid' });
  const lines = patch.split('\n');
  let left = [], right = [];
  const flush = () => {
    const n = Math.max(left.length, right.length);
    for (let i = 0; i < n; i++) {
      grid.append(el('div', { class: left[i] === undefined ? '' : 'del', text: left[i] ?? '' }), el('div', { class: right[i] === undefined ? '' : 'add', text: right[i] ?? '' }));
    }
    left = [];
    right = [];
  };
  for (const line of lines) {
    if (line.startsWith('---') || line.startsWith('+++') || line.startsWith('====') || line.startsWith('Index:')) continue;
    if (line.startsWith('@@')) { flush(); grid.append(el('div', { class: 'hunk', text: line })); }
    else if (line.startsWith('-')) left.push(line.slice(1));
    else if (line.startsWith('+')) right.push(line.slice(1));
    else if (line.startsWith(' ')) { flush(); grid.append(el('div', { text: line.slice(1) }), el('div', { text: line.slice(1) })); }
  }
  flush();
  return grid;
}

async function loadDiff(name, a, b) {
  const { body } = await api(`/api/v1/functions/${encodeURIComponent(name)}/versions/${a}/diff/${b}`);
  $('diff').replaceChildren(
    el('h3', { text: `${name}: v${body.from} → v${body.to} (code.py)` }), sideBySide(body.diff.python),
    el('h3', { text: 'params.json' }), sideBySide(body.diff.params));
}

// ---- wiring ----

async function refresh() {
  const results = await Promise.allSettled([loadHealth(), loadRotation(), loadCache(), loadCosts(), loadRuns(), loadFunctions()]);
  for (const r of results) if (r.status === 'rejected') console.warn(r.reason);
}

document.addEventListener('DOMContentLoaded', () => {
  $('sign-in').addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn($('api-key').value.trim());
  });
  $('sign-out').addEventListener('click', () => signOut());
  $('enhance-form').addEventListener('submit', startEnhancement);
  setInterval(() => { if (!$('main').hidden) void refresh(); }, REFRESH_MS);
  const key = sessionStorage.getItem(KEY_STORE);
  if (key) void signIn(key);
});
