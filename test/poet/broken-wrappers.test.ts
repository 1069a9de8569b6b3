import { sandboxPython } from '../helpers/sandbox';
import { PythonAnalyzer } from '../../src/infra/sandbox/python-analyzer';
import { runSandbox } from '../../src/infra/sandbox/run';
import { getDomain } from '../../src/poet/domains';
import { enhanceWithTemplate } from '../../src/poet/template';

// Proof that validation can fail: wrappers broken in the ways a hand-written or model-written wrapper goes wrong,
// each validated against its original in the real sandbox, must all be caught; the runtime's own module must pass.

const FUNCTIONS = {
  double: 'def double(x: int) -> int:\n    return x * 2\n',
  parse_age: [
    'def parse_age(text: str) -> int:',
    '    """Age in years.',
    '',
    '    >>> parse_age("42")',
    '    42',
    '    >>> parse_age("-3")',
    '    Traceback (most recent call last):',
    '    ...',
    '    ValueError: negative age: -3',
    '    """',
    '    value = int(text)',
    '    if value < 0:',
    '        raise ValueError(f"negative age: {value}")',
    '    return value',
    '',
  ].join('\n'),
  ticket:
    'issued = 0\n\n\ndef ticket(prefix: str) -> str:\n    global issued\n    issued += 1\n    return f"{prefix}-{issued}"\n',
} as const;
type Name = keyof typeof FUNCTIONS;

/** The original code, then `name` rebound to a functools.wraps wrapper whose body is `body` (fn is the original). */
function wrapped(name: Name, body: string[]): string {
  return [
    'import functools',
    FUNCTIONS[name],
    '',
    'def _wrap(fn):',
    '    state = {}',
    '',
    '    @functools.wraps(fn)',
    '    def wrapper(*args, **kwargs):',
    ...body.map((line) => `        ${line}`),
    '    return wrapper',
    '',
    '',
    `${name} = _wrap(${name})`,
    '',
  ].join('\n');
}

const BROKEN: [string, Name, string[]][] = [
  [
    'a wrong result, on negative numbers only',
    'double',
    [
      'result = fn(*args, **kwargs)',
      'return result + 1 if args and isinstance(args[0], int) and args[0] < 0 else result',
    ],
  ],
  [
    'a swallowed exception',
    'parse_age',
    ['try:', '    return fn(*args, **kwargs)', 'except ValueError:', '    return None'],
  ],
  [
    'a changed message',
    'parse_age',
    [
      'try:',
      '    return fn(*args, **kwargs)',
      'except ValueError as exc:',
      '    raise ValueError(f"invalid input: {exc}") from exc',
    ],
  ],
  [
    'a changed exception type',
    'parse_age',
    ['try:', '    return fn(*args, **kwargs)', 'except ValueError as exc:', '    raise TypeError(str(exc)) from exc'],
  ],
  ['double execution', 'ticket', ['fn(*args, **kwargs)', 'return fn(*args, **kwargs)']],
  [
    'a call dropped (every other one answered from the last result)',
    'ticket',
    [
      'state["n"] = state.get("n", 0) + 1',
      'if state["n"] % 2 == 0 and "last" in state:',
      '    return state["last"]',
      'state["last"] = fn(*args, **kwargs)',
      'return state["last"]',
    ],
  ],
];

const analyzer = new PythonAnalyzer({
  pythonBin: 'python3',
  scriptDir: sandboxPython.scriptDir,
  timeoutMs: 10_000,
  pathEnv: sandboxPython.pathEnv,
});
afterAll(() => analyzer.close());

const validate = (name: Name, enhanced: string) =>
  runSandbox(
    { original_code: FUNCTIONS[name], enhanced_code: enhanced, function_name: name, timeout_s: 10, memory_mb: 256 },
    sandboxPython,
  );

describe('validation catches broken wrappers', () => {
  it.each(BROKEN)('%s', async (_label, name, body) => {
    const result = await validate(name, wrapped(name, body));
    expect(result).toMatchObject({ compiled: true, imported: true, errors: [], safety_level: 'low' });
    expect(result.mismatches.length).toBeGreaterThan(0);
  });

  it('finds the negative-only fault with generated inputs, where the derived samples (0, 1, 7) pass, and names the shortest failing call', async () => {
    const result = await validate('double', wrapped('double', BROKEN[0]![2]));
    expect(result.evidence.inputs.samples).toBe(3);
    expect(result.mismatches).toEqual([
      { sample: { generated: 'double(-1)', failing_inputs: expect.any(Number) }, original: '-2', enhanced: '-1' },
    ]);
  });

  it('runs the doctests against the enhanced code', async () => {
    const result = await validate('parse_age', wrapped('parse_age', BROKEN[2]![2]));
    expect(result.mismatches).toContainEqual(
      expect.objectContaining({ sample: { doctest: 1, source: 'parse_age("-3")' } }),
    );
  });

  it.each(Object.keys(FUNCTIONS) as Name[])(
    'passes the runtime module of %s, with at least 100 agreeing inputs from every source it has',
    async (name) => {
      const code = FUNCTIONS[name];
      const analysis = await analyzer.analyze(code);
      if (!analysis.ok) throw new Error(analysis.error.message);
      const fn = analysis.functions.find((f) => f.name === name)!;
      const { python } = enhanceWithTemplate({
        functionName: name,
        originalCode: code,
        analysis: fn,
        domain: getDomain('base_reliability')!,
        optimizeFor: null,
        strict: false,
      });
      const result = await validate(name, python);
      expect(result).toMatchObject({ errors: [], mismatches: [], safety_level: 'high' });
      expect(result.evidence.agreed).toBeGreaterThanOrEqual(100);
      expect(result.evidence.inputs.generated).toBeGreaterThanOrEqual(100);
      if (name === 'parse_age') expect(result.evidence.inputs.doctests).toBe(2);
    },
  );
});

describe('feedback examples are regression tests', () => {
  it('passes a version that gives every expected outcome, and catches one that does not', async () => {
    const examples = [
      { args: ['42'], kwargs: {}, expected: 42 },
      { args: ['-3'], kwargs: {}, raises: { type: 'ValueError', message: 'negative age: -3' } },
      { args: ['x'], kwargs: {}, raises: { type: 'ValueError' } },
    ];
    const request = (enhanced: string) => ({
      original_code: FUNCTIONS.parse_age,
      enhanced_code: enhanced,
      function_name: 'parse_age',
      examples,
      timeout_s: 10,
      memory_mb: 256,
    });
    const kept = await runSandbox(request(wrapped('parse_age', ['return fn(*args, **kwargs)'])), sandboxPython);
    expect(kept).toMatchObject({ errors: [], mismatches: [] });
    expect(kept.evidence.inputs.feedback).toBe(3);
    // the same fault in original and enhanced: only the example, which says what the function must do, finds it
    const drifted = FUNCTIONS.parse_age.replace('return value', 'return value + 1');
    const broken = await runSandbox({ ...request(drifted), original_code: drifted }, sandboxPython);
    expect(broken.mismatches).toEqual([
      { sample: { feedback_example: 0, args: ['42'], kwargs: {} }, original: 'expected 42', enhanced: '43' },
    ]);
  });
});
