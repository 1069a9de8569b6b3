'use strict';
// Benchmark 5: cost per 1,000 enhancements at a given cache-hit rate (BENCH_HIT_RATE, default 0.8), from the costs
// table: a mix of distinct functions (misses, each one priced LLM call) and repeats (hits, free) at that rate, then
// the day's spend of the tenant as the costs table holds it, scaled to 1,000 requests.
const { startFakeLlm } = require('./lib/fake-llm');
const { enhanceBody, fakeProviderEnv } = require('./lib/load');

const HIT_RATE = Number(process.env.BENCH_HIT_RATE ?? 0.8);
const REQUESTS = Number(process.env.BENCH_COST_REQUESTS ?? 50);

async function setup() {
  const fake = await startFakeLlm();
  return { env: fakeProviderEnv(fake), close: () => fake.close() };
}

async function run({ stack, figures }) {
  const misses = Math.max(1, Math.round(REQUESTS * (1 - HIT_RATE)));
  const outcomes = { hit: 0, miss: 0 };
  for (let i = 0; i < REQUESTS; i++) {
    // Misses first, then the same functions again in turn: every repeat is a hit.
    const res = await fetch(`${stack.url}/api/v1/functions/enhance`, {
      method: 'POST',
      headers: stack.headers,
      body: enhanceBody('cost', i % misses),
    });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`cost: HTTP ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
    outcomes[body.metadata.cache]++;
  }
  const { Client } = require('pg');
  const pg = new Client({ connectionString: stack.env.DATABASE_URL });
  await pg.connect();
  let spend;
  try {
    const { rows } = await pg.query(
      `SELECT COALESCE(SUM(calls), 0)::int AS calls, COALESCE(SUM(prompt_tokens + completion_tokens), 0)::int AS tokens, COALESCE(SUM(cost_usd), 0)::float8 AS usd
         FROM ${stack.env.DATABASE_SCHEMA}.costs WHERE tenant_id = 'default'`,
    );
    spend = rows[0];
  } finally {
    await pg.end();
  }
  const measuredRate = outcomes.hit / REQUESTS;
  const per1000 = Math.round((spend.usd / REQUESTS) * 1000 * 10_000) / 10_000;
  const perMiss = spend.usd / Math.max(1, outcomes.miss);
  figures['cost.usd_per_1000'] = { value: per1000, better: 'lower' };
  const rows = [
    {
      'hit rate': measuredRate.toFixed(2),
      requests: REQUESTS,
      misses: outcomes.miss,
      'LLM calls': spend.calls,
      tokens: spend.tokens,
      'USD (costs table)': spend.usd.toFixed(6),
      'USD per 1,000': per1000,
    },
    ...[0, 0.5, 0.9, 0.95].map((rate) => ({
      'hit rate': `${rate.toFixed(2)} (projected)`,
      requests: 1000,
      misses: Math.round(1000 * (1 - rate)),
      'LLM calls': '',
      tokens: '',
      'USD (costs table)': '',
      'USD per 1,000': Math.round(perMiss * 1000 * (1 - rate) * 10_000) / 10_000,
    })),
  ];
  return {
    title: 'Cost per 1,000 enhancements (fake model priced $0.0025 / 1k prompt, $0.01 / 1k completion tokens)',
    rows,
  };
}

module.exports = { name: 'cost', setup, run };
