process.chdir('/work/main');
const path = require('path');
const { startBenchStack } = require('/work/main/bench/lib/stack');
const { startFakeLlm } = require('/work/main/bench/lib/fake-llm');
const { fakeProviderEnv } = require('/work/main/bench/lib/load');
(async () => {
  const fake = await startFakeLlm({ latencyMs: 200 });
  const stack = await startBenchStack({ env: { ...fakeProviderEnv(fake), ...JSON.parse(process.env.EXTRA || '{}') } });
  const { Client, Connection } = require('@temporalio/client');
  const conn = await Connection.connect({ address: stack.env.TEMPORAL_ADDRESS });
  const client = new Client({ connection: conn });
  const agg = {}; for (let i = 0; i < 16; i++) {
    const name = `m_${i}`;
    const t0 = Date.now();
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body: JSON.stringify({ function_name: name, original_code: `def ${name}(a: int, b: int) -> int:\n    """Sum."""\n    return a + b + ${i}\n` }) });
    const body = await res.json(); const t1 = Date.now();
    if (i < 3) continue;
    const wid = body.run?.workflow_id ?? body.metadata?.workflow_id;
    const h = await client.workflow.getHandle(wid).fetchHistory();
    const base = Number(h.events[0].eventTime.seconds) * 1000 + h.events[0].eventTime.nanos / 1e6;
    const ts = h.events.map((e) => Number(e.eventTime.seconds) * 1000 + e.eventTime.nanos / 1e6 - base);
    let wft = 0; let act = 0; let lastSched; let k = 0;
    const push = (key, v) => (agg[key] ??= []).push(v);
    push('http', t1 - t0); push('first-event-after-request', base - t0);
    h.events.forEach((e, j) => {
      if (e.eventType === 5 || e.eventType === 10) lastSched = ts[j];
      if (e.eventType === 6) { push(`wft${++wft}.sched->start`, ts[j] - lastSched); lastSched = ts[j]; }
      if (e.eventType === 7) push(`wft${wft}.start->complete`, ts[j] - lastSched);
      if (e.eventType === 11) { push(`act${++act}.sched->start`, ts[j] - lastSched); lastSched = ts[j]; }
      if (e.eventType === 12) push(`act${act}.start->complete`, ts[j] - lastSched);
    });
    push('last-event-to-http-answer', t1 - t0 - (base - t0) - ts[ts.length - 1]);
  }
  for (const [k, v] of Object.entries(agg)) { v.sort((a, b) => a - b); console.log(k.padEnd(28), 'median', v[v.length >> 1].toFixed(1)); }
  const m = await (await fetch(`${stack.workerUrls[0]}/metrics`)).text();
  const sums = {}; const counts = {};
  for (const line of m.split('\n')) {
    let r = /^poet_stage_duration_seconds_sum\{stage="(\w+)"\} ([\d.e-]+)/.exec(line); if (r) sums[r[1]] = Number(r[2]);
    r = /^poet_stage_duration_seconds_count\{stage="(\w+)"\} (\d+)/.exec(line); if (r) counts[r[1]] = Number(r[2]);
  }
  for (const k of Object.keys(sums)) console.log('stage', k.padEnd(22), 'mean ms', (sums[k] * 1000 / counts[k]).toFixed(1), 'n', counts[k]);
  await stack.close(); await fake.close(); process.exit(0);
})();
