'use strict';
// Benchmark: what the payload codec's encryption costs. (1) In-process: AES-256-GCM encode and decode of one
// payload (the whole Temporal payload sealed, as the codec does), per payload, at the sizes our runs carry. (2) The
// cache-hit latency of bench/hit-latency.js at concurrency 1, on stacks with and without ENCRYPTION_KEYS,
// alternated (off, on, off, on) so the machine's drift falls on both; the difference is also given as a share of
// the floor's hit shape (floor.hit_shape.p50_ms in bench/results.json, the denominator of the floor ratios).
const path = require('node:path');
const { readFileSync } = require('node:fs');
const { defaultPayloadConverter } = require('@temporalio/common');
const { KeyRing, newKeyEntry, parseKeyRing } = require('../dist/infra/crypto/key-ring');
const { EncryptionCodec } = require('../dist/infra/temporal/encryption-codec');
const { startBenchStack } = require('./lib/stack');
const { load, enhanceBody } = require('./lib/load');
const { percentiles } = require('./lib/stats');

const CODEC_N = 5_000;
const FUNCTIONS = 50;
const HIT_N = 300;
const SIZES = [
  ['memo (tenant id)', 32],
  ["a hit's result", 2 * 1024],
  ['a large function (claim-checked after)', 16 * 1024],
];

async function codecCost(figures, rows) {
  const codec = new EncryptionCodec(new KeyRing(parseKeyRing(newKeyEntry('bench'), undefined)));
  for (const [label, bytes] of SIZES) {
    const payload = defaultPayloadConverter.toPayload({ code: 'x'.repeat(bytes) });
    for (let i = 0; i < 500; i++) await codec.decode(await codec.encode([payload]));
    const enc = [];
    const dec = [];
    for (let i = 0; i < CODEC_N; i++) {
      let t = performance.now();
      const [sealed] = await codec.encode([payload]);
      enc.push((performance.now() - t) * 1000);
      t = performance.now();
      await codec.decode([sealed]);
      dec.push((performance.now() - t) * 1000);
    }
    const e = percentiles(enc);
    const d = percentiles(dec);
    for (const [op, p] of [
      ['encode', e],
      ['decode', d],
    ])
      rows.push({ measure: `codec ${op}, ${label} (${bytes} B), µs`, n: CODEC_N, p50: p.p50, p99: p.p99, note: '' });
    figures[`encryption.codec_${bytes}.encode_p99_us`] = { value: e.p99, better: 'lower' };
    figures[`encryption.codec_${bytes}.decode_p99_us`] = { value: d.p99, better: 'lower' };
  }
}

async function hitP50(env) {
  const stack = await startBenchStack({ env });
  try {
    const bodies = Array.from({ length: FUNCTIONS }, (_, i) => enhanceBody('hit', i));
    for (const body of bodies) {
      const res = await fetch(`${stack.url}/api/v1/functions/enhance`, {
        method: 'POST',
        headers: stack.headers,
        body,
      });
      if (res.status !== 200) throw new Error(`warm-up: HTTP ${res.status} ${await res.text()}`);
    }
    await load(stack, bodies, { connections: 1, amount: 100 });
    const { times, non2xx, errors } = await load(stack, bodies, { connections: 1, amount: HIT_N });
    if (non2xx || errors) throw new Error(`hit-latency: ${non2xx} non-2xx, ${errors} errors`);
    return percentiles(times);
  } finally {
    await stack.close();
  }
}

async function run({ figures }) {
  const rows = [];
  await codecCost(figures, rows);
  const floor = JSON.parse(readFileSync(path.join(__dirname, 'results.json'), 'utf8')).figures?.[
    'floor.hit_shape.p50_ms'
  ];
  const runs = { off: [], on: [] };
  for (const mode of ['off', 'on', 'off', 'on']) {
    const env = mode === 'on' ? { ENCRYPTION_KEYS: newKeyEntry('bench') } : {};
    const p = await hitP50(env);
    console.error(`encryption: hit c1 ${mode}: p50 ${p.p50} ms, p99 ${p.p99} ms`);
    runs[mode].push(p);
  }
  const higher = (ps, key) => ps.map((p) => p[key]).sort((a, b) => a - b)[Math.floor(ps.length / 2)];
  for (const mode of ['off', 'on']) {
    const p50 = higher(runs[mode], 'p50');
    rows.push({
      measure: `hit c1, encryption ${mode}, ms (per stack)`,
      n: runs[mode].length * HIT_N,
      p50: runs[mode].map((p) => p.p50).join(' / '),
      p99: runs[mode].map((p) => p.p99).join(' / '),
      note: floor
        ? `higher per-stack p50 / floor hit shape: ${Math.round((p50 / floor.value) * 100) / 100}`
        : 'no floor figure',
    });
    figures[`encryption.hit_c1_${mode}.p50_ms`] = { value: p50, better: 'lower' };
  }
  return {
    title: `Payload encryption: codec cost per payload, cache-hit latency on and off (floor hit shape ${floor?.value} ms)`,
    rows,
  };
}

module.exports = { name: 'encryption', stack: false, run };
