process.chdir('/work/main');
const fs = require('fs');
const { startBenchStack } = require('/work/main/bench/lib/stack');
const { startFakeLlm } = require('/work/main/bench/lib/fake-llm');
const { fakeProviderEnv } = require('/work/main/bench/lib/load');
(async () => {
  const fake = await startFakeLlm({ latencyMs: 200 });
  const env = fakeProviderEnv(fake);
  if (process.env.PROFDIR) env.NODE_OPTIONS = '--require /tmp/prof/preload.js';
  const stack = await startBenchStack({ env });
  const one = async (name, i) => {
    const t0 = performance.now();
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body: JSON.stringify({ function_name: name, original_code: `def ${name}(a: int, b: int) -> int:\n    """Sum."""\n    return a + b + ${i}\n` }) });
    await res.json(); if (res.status !== 200) throw new Error(String(res.status));
    return performance.now() - t0;
  };
  for (let i = 0; i < 5; i++) await one(`w_${i}`, i);
  if (process.env.PROFDIR) fs.writeFileSync('/tmp/prof/start', '');
  const c0 = stack.cpu(); const times = [];
  const N = Number(process.env.N || 30);
  for (let i = 0; i < N; i++) times.push(await one(`m_${i}`, i));
  const c1 = stack.cpu();
  if (process.env.PROFDIR) { fs.writeFileSync('/tmp/prof/stop', ''); await new Promise((r) => setTimeout(r, 2000)); }
  times.sort((a, b) => a - b);
  const d = (a, b) => ((b.self + b.children - a.self - a.children) * 1000 / N).toFixed(1);
  console.log('miss p50', times[N >> 1].toFixed(1), 'cpu ms/miss api', d(c0.api, c1.api), 'worker', d(c0.workers[0], c1.workers[0]), 'server', d(c0.server, c1.server));
  await stack.close(); await fake.close(); process.exit(0);
})();
