import {
  CacheOutcomeKey,
  DomainKey,
  FunctionNameKey,
  OutcomeKey,
  ProviderKey,
  TenantKey,
} from '../../src/definitions/search-attributes';
import { getJson, postJson, requestJson, startStack, uniqueSuffix, type TestStack } from '../helpers/stack';

const source = (name: string) => `def ${name}(a: float, b: float) -> float:\n    return a / b\n`;
// The same function up to a comment and a docstring: the same input for L2 and for the lineage.
const cosmetic = (name: string) =>
  `# used by the billing job\ndef ${name}(a: float, b: float) -> float:\n    """Divide a by b."""\n    return a / b  # plain division\n`;
const request = (name: string, code = source(name)) => ({
  function_name: name,
  original_code: code,
  context: { samples: [[6, 3]] },
});
const timeouts = (version: number) => ({
  version,
  execution_id: `exec-${uniqueSuffix()}`,
  feedback_type: 'error',
  rating: 2,
  comments: 'TimeoutError: timed out after 30 s',
});

describe('lineage: an enhance never goes back on what feedback taught, nor mints a copy of the active version', () => {
  let stack: TestStack;
  const api = (path: string) => `${stack.url}/api/v1${path}`;
  const enhance = async (name: string, code?: string) => {
    const res = await postJson(api('/functions/enhance'), request(name, code));
    expect(res.status).toBe(200);
    return res.body;
  };
  const versionsOf = async (name: string) =>
    (await getJson(api(`/functions/${name}/versions`))).body.versions.map(
      (v: { version: number; status: string; trigger: string; parent_version: number | null }) => [
        v.version,
        v.status,
        v.trigger,
        v.parent_version,
      ],
    );
  /** Enhance, then error feedback that makes Train regenerate: v1 (retries 3, timeout 30), v2 (retries 5). */
  async function regenerated(name: string) {
    expect((await enhance(name)).version).toBe(1);
    const fb = await postJson(api(`/functions/${name}/feedback`), timeouts(1));
    expect(fb.body).toMatchObject({ status: 'requires_update', new_version: 2 });
    return (await getJson(api(`/functions/${name}/versions/2`))).body;
  }

  beforeAll(async () => {
    stack = await startStack('lineage');
  });
  afterAll(() => stack.close());

  test('enhance → feedback (regenerate) → the same enhance answers the regenerated active version, cache or not', async () => {
    const name = `div_${uniqueSuffix()}`;
    const v2 = await regenerated(name);
    expect(v2.params).toMatchObject({ retries: 5 });

    const again = await enhance(name);
    expect(again.version).toBe(2);
    expect(again.enhanced_code).toEqual(v2.code);
    expect(again.metadata.params).toMatchObject({ retries: 5 });
    expect(again.metadata.lineage).toMatchObject({
      version: 2,
      relation: 'same_input',
      trigger: 'feedback',
      parent_version: 1,
      reactivated: false,
    });
    expect(again.metadata.lineage.reason).toMatch(/v2 \(regenerated from v1 by feedback\) is active/);

    // Without the cache (invalidated) the lineage still answers: no generation of v1's answer again.
    expect((await requestJson('DELETE', api(`/cache?function_name=${name}`))).status).toBe(200);
    expect((await enhance(name)).version).toBe(2);
    expect(await versionsOf(name)).toEqual([
      [1, 'deprecated', 'request', null],
      [2, 'active', 'feedback', 1],
    ]);
  });

  test("a comment or docstring edit after regeneration answers with the caller's source and the learned settings, once", async () => {
    const name = `div_${uniqueSuffix()}`;
    const v2 = await regenerated(name);

    const edited = await enhance(name, cosmetic(name));
    expect(edited.version).toBe(3);
    expect(edited.metadata.lineage).toMatchObject({ version: 2, relation: 'cosmetic_edit', trigger: 'feedback' });
    // The caller's own text, verbatim, in both modules; everything around it as v2 has it.
    expect(edited.enhanced_code.python).toContain(cosmetic(name).trimEnd());
    expect(edited.enhanced_code.dana).toContain('"""Divide a by b."""');
    expect(edited.enhanced_code.python).not.toBe(v2.code.python);
    expect(edited.enhanced_code.python.replace(cosmetic(name).trimEnd(), source(name).trimEnd())).toBe(v2.code.python);
    expect(edited.metadata.params).toEqual(v2.params);
    const v3 = (await getJson(api(`/functions/${name}/versions/3`))).body;
    expect(v3.code).toEqual(edited.enhanced_code);

    // The edited source again: v3 answers it as it is.
    const repeat = await enhance(name, cosmetic(name));
    expect(repeat).toMatchObject({ version: 3, metadata: { lineage: { version: 3, relation: 'same_input' } } });
    expect(await versionsOf(name)).toEqual([
      [1, 'deprecated', 'request', null],
      [2, 'deprecated', 'feedback', 1],
      [3, 'active', 'request', 2],
    ]);
  });

  test('every run reads in the Temporal UI: search attributes, staticSummary and staticDetails through describe()', async () => {
    const name = `div_${uniqueSuffix()}`;
    const enhanced = await enhance(name);
    const feedback = await postJson(api(`/functions/${name}/feedback`), timeouts(1));
    const activated = await postJson(api(`/functions/${name}/versions/1/activate`), {});
    const batch = await postJson(api('/functions/enhance:batch'), { functions: [request(`b_${uniqueSuffix()}`)] });
    expect(batch.status).toBe(202);
    await stack.client.workflow.getHandle(batch.body.run.workflow_id).result();

    const keys = [
      ['function', FunctionNameKey],
      ['domain', DomainKey],
      ['cache', CacheOutcomeKey],
      ['outcome', OutcomeKey],
      ['provider', ProviderKey],
      ['tenant', TenantKey],
    ] as const;
    const read = async (workflowId: string) => {
      const run = await stack.client.workflow.getHandle(workflowId).describe();
      const attributes = Object.fromEntries(
        keys.flatMap(([label, key]) => {
          const value = run.typedSearchAttributes.get(key);
          return value === undefined ? [] : [[label, value]];
        }),
      );
      return { attributes, summary: await run.staticSummary(), details: await run.staticDetails() };
    };
    const details = (version: string, trigger: string, parent: string) =>
      [
        `- **function**: \`${name}\``,
        `- **version**: ${version}`,
        '- **domain**: base_reliability',
        `- **trigger**: ${trigger}`,
        `- **parent version**: ${parent}`,
        '- **tenant**: `default`',
      ].join('\n');

    expect(await read(enhanced.run.workflow_id)).toEqual({
      attributes: {
        function: name,
        domain: 'base_reliability',
        cache: 'miss',
        outcome: 'completed',
        provider: 'template',
        tenant: 'default',
      },
      summary: `enhance ${name} (base_reliability)`,
      details: details('the active one if it answers this input, else a new one', 'request', '–'),
    });
    expect(await read(feedback.body.run.workflow_id)).toEqual({
      attributes: {
        function: name,
        domain: 'base_reliability',
        outcome: 'regenerated',
        provider: 'template',
        tenant: 'default',
      },
      summary: `feedback on ${name} v1: regenerate if it must change`,
      details: details('a new one if Train says v1 must change', 'feedback', 'v1'),
    });
    expect(await read(activated.body.run.workflow_id)).toEqual({
      attributes: { function: name, domain: 'base_reliability', tenant: 'default', outcome: 'completed' },
      summary: `activate ${name} v1`,
      details: details('v1', 'activation', 'v2'),
    });
    const batchRun = await read(batch.body.run.workflow_id);
    expect(batchRun).toMatchObject({
      attributes: { outcome: 'completed', tenant: 'default' },
      summary: 'batch of 1 enhancements (4 at a time)',
    });
    expect(batchRun.details).toMatch(/^1\. `b_[0-9a-f]+` \(base_reliability\), trigger: request, tenant `default`$/);
  });

  test('rollback → enhance: the rolled-back version answers its own input; nothing moves forward again', async () => {
    const name = `div_${uniqueSuffix()}`;
    await regenerated(name);
    const rollback = await postJson(api(`/functions/${name}/versions/1/activate`), {});
    expect(rollback.body).toMatchObject({ current_version: 1, previous_version: 2 });

    const after = await enhance(name);
    expect(after.version).toBe(1);
    expect(after.metadata.params).toMatchObject({ retries: 3 });
    expect(after.metadata.lineage).toMatchObject({
      version: 1,
      relation: 'same_input',
      trigger: 'request',
      parent_version: null,
      reactivated: true,
    });
    expect(after.metadata.lineage.reason).toMatch(/made active again by a rollback/);
    expect(await versionsOf(name)).toEqual([
      [1, 'active', 'request', null],
      [2, 'deprecated', 'feedback', 1],
    ]);
  });
});
