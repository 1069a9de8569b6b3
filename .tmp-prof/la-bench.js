process.chdir('/work/main');
const path = require('path');
const { Worker, NativeConnection, bundleWorkflowCode } = require('@temporalio/worker');
const { Client, Connection } = require('@temporalio/client');
const { ensureTemporalCli, startDevServer } = require('/work/main/dist/infra/temporal-dev');
const { freePort } = require('/work/main/dist/infra/processes');
(async () => {
  const server = await startDevServer({ cli: ensureTemporalCli('/work/main', process.env), port: await freePort(), uiPort: await freePort(), namespace: 'default', dbFile: `/tmp/la-${Date.now()}.sqlite`, searchAttributes: [], env: process.env, stdio: 'ignore' });
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'wf/workflows.js') });
  const connection = await NativeConnection.connect({ address: server.address });
  const worker = await Worker.create({ connection, taskQueue: 'la', workflowBundle: { code }, activities: { a: async () => 1, b: async () => 2 } });
  const run = worker.run();
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  for (const wf of ['zero', 'two']) {
    const res = { total: [], wft: [] };
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const h = await client.workflow.start(wf, { taskQueue: 'la', workflowId: `${wf}-${i}-${Date.now()}` });
      await h.result();
      res.total.push(performance.now() - t0);
      const hist = await h.fetchHistory();
      const ts = (e) => Number(e.eventTime.seconds) * 1000 + e.eventTime.nanos / 1e6;
      const st = hist.events.find((e) => e.eventType === 6); const co = hist.events.find((e) => e.eventType === 7);
      res.wft.push(ts(co) - ts(st));
    }
    const med = (v) => v.sort((x, y) => x - y)[v.length >> 1].toFixed(1);
    console.log(wf, 'total median', med(res.total), 'wft start->complete median', med(res.wft));
  }
  worker.shutdown(); await run; await server.stop(); process.exit(0);
})();
