'use strict';
// Benchmark: what the payload codec's encryption costs. (1) In-process: AES-256-GCM encode and decode of one
// payload (the whole Temporal payload sealed, as the codec does), per payload, at the sizes our runs carry. (2) The
// cache-hit latency of bench/hit-latency.js at concurrency 1, on stacks with and without ENCRYPTION_KEYS,
// alternated (off, on, off, on) so the machine's drift falls on both; the difference is also given as a share of
// the floor's hit shape (floor.hit_shape.p50_ms in bench/results.json, the denominator of the floor ratios).
// (3) Field-level encryption of a row, beside its floor (the same operation in plaintext): the fields of a version
// row (params, the request with its code, guidance) sealed and opened in process, and a feedback row (comments,
// suggestions, an example) written to and read back from PostgreSQL, with and without the envelope.
// BENCH_ENCRYPTION_ROWS_ONLY=1 stops after (1) and (3): no stacks, so no Temporal needed.
const path = require('node:path');
const { readFileSync } = require('node:fs');
const { defaultPayloadConverter } = require('@temporalio/common');
const { KeyRing, newKeyEntry, parseKeyRing } = require('../dist/infra/crypto/key-ring');
const { EncryptionCodec } = require('../dist/infra/temporal/encryption-codec');
const { FieldCipher } = require('../dist/infra/crypto/field-cipher');
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

const ROW_N = 5_000;
const ROW_DB_N = 1_000;

/** A version row's encrypted fields as the repository writes them: 2 KiB of code in the request. */
const versionFields = (i) => ({
  params: { retries: 3, timeout_s: 30, threshold: i },
  request: { function_name: `f_${i}`, original_code: `def f_${i}(x):\n${'    x = x * 3  # step\n'.repeat(80)}` },
  metadata: {
    domain: 'base_reliability',
    runtime_version: '1.0.0',
    guidance: { reason: 'errors', suggestions: ['check x'] },
  },
});

function timeRows(rows, label, note, op) {
  for (let i = 0; i < 500; i++) op(i);
  const times = [];
  for (let i = 0; i < ROW_N; i++) {
    const t = performance.now();
    op(i);
    times.push((performance.now() - t) * 1000);
  }
  const p = percentiles(times);
  rows.push({ measure: label, n: ROW_N, p50: p.p50, p99: p.p99, note });
  return p;
}

/** Seal and open of one version row's fields, with the key ring and without (JSON only: the floor). */
function rowCipherCost(figures, rows) {
  for (const [mode, cipher] of [
    ['floor (plaintext)', new FieldCipher(undefined)],
    ['encrypted', new FieldCipher(parseKeyRing(newKeyEntry('bench'), undefined))],
  ]) {
    const p = timeRows(rows, `version row fields seal + open, ${mode}, µs`, 'in process', (i) => {
      const f = versionFields(i);
      const params = JSON.parse(cipher.sealJson(f.params));
      const request = JSON.parse(cipher.sealJson(f.request));
      const metadata = cipher.sealMembers(f.metadata, ['guidance']);
      cipher.openJson(params);
      cipher.openJson(request);
      cipher.openMembers(metadata, ['guidance']);
    });
    figures[`encryption.row_fields_${mode.startsWith('floor') ? 'floor' : 'on'}.p99_us`] = {
      value: p.p99,
      better: 'lower',
    };
  }
}

/** One feedback row written and read back through PostgreSQL (a temporary table), with and without encryption. */
async function rowDbCost(figures, rows) {
  const { Client } = require('pg');
  const pg = new Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
  await pg.connect();
  try {
    await pg.query(
      'CREATE TEMP TABLE bench_feedback (id bigserial PRIMARY KEY, comments text, suggestions jsonb, example jsonb)',
    );
    for (const [mode, cipher] of [
      ['floor (plaintext)', new FieldCipher(undefined)],
      ['encrypted', new FieldCipher(parseKeyRing(newKeyEntry('bench'), undefined))],
    ]) {
      const once = async (i) => {
        const { rows: ids } = await pg.query(
          'INSERT INTO bench_feedback (comments, suggestions, example) VALUES ($1, $2, $3) RETURNING id',
          [
            cipher.sealText(`run ${i} was slow on large inputs; ${'details '.repeat(20)}`),
            cipher.sealJson([`cache the result of ${i}`]),
            cipher.sealJson({ args: [i], kwargs: {}, expected: 3 * i }),
          ],
        );
        const { rows: got } = await pg.query(
          'SELECT comments, suggestions, example FROM bench_feedback WHERE id = $1',
          [ids[0].id],
        );
        cipher.openText(got[0].comments);
        cipher.openJson(got[0].suggestions);
        cipher.openJson(got[0].example);
      };
      for (let i = 0; i < 100; i++) await once(i);
      const times = [];
      for (let i = 0; i < ROW_DB_N; i++) {
        const t = performance.now();
        await once(i);
        times.push((performance.now() - t) * 1000);
      }
      const p = percentiles(times);
      rows.push({
        measure: `feedback row insert + select, ${mode}, µs`,
        n: ROW_DB_N,
        p50: p.p50,
        p99: p.p99,
        note: 'PostgreSQL round trips',
      });
      figures[`encryption.row_db_${mode.startsWith('floor') ? 'floor' : 'on'}.p50_us`] = {
        value: p.p50,
        better: 'lower',
      };
    }
  } finally {
    await pg.end();
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
  rowCipherCost(figures, rows);
  await rowDbCost(figures, rows);
  if (process.env.BENCH_ENCRYPTION_ROWS_ONLY === '1')
    return { title: 'Field-level encryption: cost per row beside its floor', rows };
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
