process.chdir('/work/main');
const { execFileSync } = require('child_process');
const { startBenchStack } = require('/work/main/bench/lib/stack');
const { startFakeLlm } = require('/work/main/bench/lib/fake-llm');
const { fakeProviderEnv } = require('/work/main/bench/lib/load');
const { ensureTemporalCli } = require('/work/main/dist/infra/temporal-dev');
(async () => {
  const fake = await startFakeLlm({ latencyMs: 50 });
  const stack = await startBenchStack({ env: { ...fakeProviderEnv(fake), PAYLOAD_CLAIM_CHECK_BYTES: '100000000' } });
  const cli = ensureTemporalCli('/work/main', process.env);
  const body = JSON.stringify({ function_name: 'add_numbers', original_code: 'def add_numbers(a: int, b: int) -> int:\n    """Add two numbers."""\n    return a + b\n' });
  for (const name of ['enhance-miss-fewer-rounds', 'enhance-hit-fewer-rounds']) {
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, { method: 'POST', headers: stack.headers, body });
    const out = await res.json();
    console.log(name, res.status, out.metadata.cache, out.run.workflow_id);
    const json = execFileSync(cli, ['workflow', 'show', '--address', stack.env.TEMPORAL_ADDRESS, '-w', out.run.workflow_id, '-r', out.run.run_id, '--output', 'json']);
    require('fs').writeFileSync(`/work/main/test/replay/histories/${name}.json`, json);
  }
  await stack.close(); await fake.close(); process.exit(0);
})();
