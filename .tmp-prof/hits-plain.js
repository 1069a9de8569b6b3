const path = require('path');
process.chdir('/work/main');
const { startBenchStack } = require('/work/main/bench/lib/stack');
const { load, enhanceBody } = require('/work/main/bench/lib/load');
const { execSync } = require('child_process');
function sig(name){ for (const l of execSync(`ps -o pid=,comm= --ppid ${process.pid}`).toString().trim().split('\n')) { const [pid,comm]=l.trim().split(/\s+/); if (comm==='node') process.kill(Number(pid), name); } }
(async () => {
  const stack = await startBenchStack({ env: JSON.parse(process.env.EXTRA || '{}') });
  const bodies = Array.from({ length: 50 }, (_, i) => enhanceBody('hit', i));
  for (const b of bodies) await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body: b });
  await load(stack, bodies, { connections: 1, amount: 100 });
  const pids=[stack._pids]; const c0 = stack.cpu(); ;
  const r = await load(stack, bodies, { connections: 1, amount: Number(process.env.N || 300) });
  const c1 = stack.cpu(); 
  const n = r.times.length; r.times.sort((a,b)=>a-b);
  console.log('p50', r.times[Math.floor(n/2)], 'p99', r.times[Math.floor(n*0.99)], 'rps', r.rps);
  const d = (a,b)=> ((b.self+b.children-a.self-a.children)*1000/n).toFixed(1);
  console.log('cpu ms/hit api', d(c0.api,c1.api), 'worker', d(c0.workers[0],c1.workers[0]), 'server', d(c0.server,c1.server));
  await stack.close();
})();
