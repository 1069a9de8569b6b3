import path from 'node:path';

// The soak of `npm run soak` (bench/lib/soak.js), two minutes long, against the `npm start` stack on its embedded
// defaults and in the production shape: nothing answered 5xx or 401, nothing written went missing, and the stack
// stops cleanly.
const { runSoak } = require(path.join(__dirname, '..', '..', 'bench', 'lib', 'soak.js'));

interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

// The embedded default, and the production shape: the machine's PostgreSQL and Redis (`npm run soak -- --production`).
test.each([
  ['the embedded default', false],
  ["the machine's PostgreSQL and Redis", true],
])(
  'two minutes of mixed load on %s lose nothing',
  async (_shape, production) => {
    const result = await runSoak({ minutes: 2, clients: 3, production });
    for (const kind of ['hit', 'miss', 'feedback', 'batch', 'read']) expect(result.byKind[kind]).toBeGreaterThan(0);
    const failed = (result.checks as Check[]).filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    expect(failed).toEqual([]);
    expect(result.checks.length).toBeGreaterThanOrEqual(8);
  },
  8 * 60_000,
);
