const inspector = require('inspector');
const fs = require('fs');
const { isMainThread, threadId } = require('worker_threads');
const s = new inspector.Session(); s.connect();
s.post('Profiler.enable', () => s.post('Profiler.setSamplingInterval', { interval: 200 }, () => {}));
let state = 0;
const t = setInterval(() => {
  if (state === 0 && fs.existsSync('/tmp/prof/start')) { state = 1; s.post('Profiler.start'); }
  else if (state === 1 && fs.existsSync('/tmp/prof/stop')) {
    state = 2;
    s.post('Profiler.stop', (err, { profile }) => {
      fs.writeFileSync(`${process.env.PROFDIR}/${process.pid}-t${threadId}-${(process.argv[1]||'x').split('/').slice(-2).join('_')}.cpuprofile`, JSON.stringify(profile));
    });
  }
}, 200);
t.unref();
