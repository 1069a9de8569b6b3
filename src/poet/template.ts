import type { FunctionAnalysis } from '../contracts/analysis';
import type { JsonValue, OptimizeFor } from '../contracts/enhance';
import type { DomainSettings } from './domains';
import { poetRuntime } from './runtime';

/**
 * Part of every cache key and of the "same input, same enhancer" check: the module's shape and the runtime it imports.
 * Bump the template part whenever the generated code changes for the same input.
 */
export const ENHANCER_VERSION = `template-3+runtime-${poetRuntime().version}`;

/** Names the optional hooks must define; the module passes them to poet() after the original code. */
export const HOOK_NAMES = { perceive: 'poet_perceive_hook', enforce: 'poet_enforce_hook' } as const;

/** Python source of observer hooks: `def poet_perceive_hook(args, kwargs)`, `def poet_enforce_hook(result)`. */
export interface Hooks {
  perceive?: string;
  enforce?: string;
}

export interface TemplateInput {
  functionName: string;
  originalCode: string;
  analysis: FunctionAnalysis;
  /** Settings as they apply to this request, optimize_for already applied (applyOptimizeFor). */
  domain: DomainSettings;
  /** Recorded in the output; the shift it implies is already in `domain`. Null: the domain's own settings. */
  optimizeFor: OptimizeFor | null;
  /** Annotation mismatches raise instead of being counted (strictTypes decides it for a request). */
  strict: boolean;
  hooks?: Hooks;
}

export interface TemplateOutput {
  python: string;
  dana: string;
  params: Record<string, JsonValue>;
  optimizations: string[];
  /** The poet_runtime version the module was written for, and must be validated and shipped with. */
  runtime_version: string;
}

/**
 * Whether annotation checks raise: when the caller asks for it (`strict`, or `optimize_for: reliability` unless
 * `strict: false`), or when Train learned from feedback that bad inputs caused the errors.
 */
export function strictTypes(
  request: { strict?: boolean; optimize_for?: OptimizeFor },
  learned?: { check_types?: boolean },
): boolean {
  return (request.strict ?? request.optimize_for === 'reliability') || learned?.check_types === true;
}

/** Annotations Perceive and Enforce check; anything else passes unchecked. */
const SIMPLE_TYPES = new Set(['int', 'float', 'str', 'bool', 'list', 'dict', 'tuple', 'set', 'bytes']);

function pyLiteral(value: JsonValue): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyLiteral).join(', ')}]`;
  return `{${Object.entries(value)
    .map(([key, item]) => `${JSON.stringify(key)}: ${pyLiteral(item)}`)
    .join(', ')}}`;
}

function buildParams(
  domain: DomainSettings,
  optimizeFor: OptimizeFor | null,
  strict: boolean,
): Record<string, JsonValue> {
  const { perceive, operate, enforce, train } = domain;
  return {
    domain: domain.name,
    optimize_for: optimizeFor,
    strict,
    retries: operate.retries,
    timeout: operate.timeout_s,
    backoff_base: operate.backoff_base_s,
    backoff_max: operate.backoff_max_s,
    retry_on: [...operate.retry_on],
    check_types: perceive.check_types,
    reject_none: perceive.reject_none,
    reject_non_finite_args: perceive.reject_non_finite,
    ranges: perceive.ranges.map((rule) => ({ ...rule })),
    max_input_tokens: perceive.max_input_tokens,
    drift_z: perceive.drift_z,
    drift_min_samples: perceive.drift_min_samples,
    cache_size: operate.cache_size,
    fallback_last_good: operate.fallback_last_good,
    check_return_type: enforce.check_return_type,
    reject_non_finite_result: enforce.reject_non_finite,
    max_abs_result: enforce.max_abs_result,
    audit_trail: enforce.audit_trail,
    mask_pii: enforce.mask_pii,
    enable_training: train.enable_training,
    learning_rate: train.learning_rate,
    learning_algorithm: train.algorithm,
  };
}

function listOptimizations(analysis: FunctionAnalysis, domain: DomainSettings, strict: boolean): string[] {
  const { perceive, operate, enforce, train } = domain;
  const checks = strict ? 'strict' : 'observed';
  const streams = analysis.is_generator;
  const returnsFloat = analysis.returns === 'float';
  const features: [boolean, string][] = [
    [
      perceive.check_types && analysis.params.some((p) => SIMPLE_TYPES.has(p.annotation ?? '')),
      `perceive:type_checks(${checks})`,
    ],
    [perceive.reject_none, 'perceive:reject_none'],
    [perceive.reject_non_finite, 'perceive:finite_args'],
    [perceive.ranges.length > 0, `perceive:ranges=${perceive.ranges.length}`],
    [perceive.max_input_tokens !== null, `perceive:max_input_tokens=${perceive.max_input_tokens}`],
    [perceive.drift_z !== null, `perceive:drift_z=${perceive.drift_z}`],
    [!streams, `operate:retries=${operate.retries}`],
    [!streams, `operate:retry_on=${operate.retry_on.join('|')}`],
    [!streams, `operate:backoff=min(${operate.backoff_base_s}*2^n,${operate.backoff_max_s})s`],
    [!streams, `operate:timeout=${operate.timeout_s}s`],
    [!streams && operate.cache_size > 0, `operate:cache=${operate.cache_size}`],
    [!streams && operate.fallback_last_good, 'operate:fallback_last_good'],
    [!streams, 'operate:latency_p50_p95'],
    [
      !streams && enforce.check_return_type && SIMPLE_TYPES.has(analysis.returns ?? ''),
      `enforce:return_type(${checks})`,
    ],
    [!streams && enforce.reject_non_finite && returnsFloat, 'enforce:finite_result'],
    [!streams && enforce.max_abs_result !== null, `enforce:max_abs_result=${enforce.max_abs_result}`],
    [!streams && enforce.audit_trail, `enforce:audit_trail${enforce.mask_pii ? '(pii_masked)' : ''}`],
    [train.enable_training, `train:${train.algorithm}`],
  ];
  return features.filter(([applies]) => applies).map(([, feature]) => feature);
}

const FUTURE_IMPORT = /^from[ \t]+__future__[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)/gm;

/** `from __future__` imports must open the module: hoisted above ours, blanked in place so line offsets hold. */
function splitFutureImports(code: string): { future: string[]; body: string } {
  const future = code.match(FUTURE_IMPORT) ?? [];
  const body = code.replace(FUTURE_IMPORT, (statement) => '\n'.repeat(statement.split('\n').length - 1));
  return { future, body };
}

/** POET_PARAMS as a dict literal, entries packed into lines of at most 110 characters. */
function renderParams(params: Record<string, JsonValue>): string[] {
  const lines: string[] = [];
  let line = '';
  for (const [key, value] of Object.entries(params)) {
    const entry = `${JSON.stringify(key)}: ${pyLiteral(value)},`;
    if (line && line.length + 1 + entry.length > 106) {
      lines.push(`    ${line}`);
      line = '';
    }
    line = line ? `${line} ${entry}` : entry;
  }
  if (line) lines.push(`    ${line}`);
  return ['POET_PARAMS = {', ...lines, '}'];
}

function renderPython(input: TemplateInput, params: Record<string, JsonValue>, runtimeVersion: string): string {
  const { functionName: name, originalCode, domain, optimizeFor, hooks } = input;
  const { future, body } = splitFutureImports(originalCode);
  const hookSources = (['perceive', 'enforce'] as const).filter((phase) => hooks?.[phase]);
  const hookArgs = hookSources.map((phase) => `, ${phase}=${HOOK_NAMES[phase]}`).join('');
  return [
    `"""POET-enhanced ${name}: the original code, verbatim, wrapped by poet_runtime ${runtimeVersion} (poet-service ${ENHANCER_VERSION}).`,
    '',
    `Domain ${domain.name}, ${optimizeFor ? `optimized for ${optimizeFor}` : 'domain defaults'}. ${name}.poet_stats counts calls, retries and`,
    'annotation mismatches; a JSON file named by the POET_PARAMS_FILE environment variable overrides POET_PARAMS.',
    '"""',
    ...future,
    'from poet_runtime import poet',
    '',
    ...renderParams(params),
    '',
    body.trimEnd(),
    ...hookSources.flatMap((phase) => ['', '', hooks![phase]!.trim()]),
    '',
    '',
    `${name} = poet(POET_PARAMS${hookArgs})(${name})`,
    '',
  ].join('\n');
}

/** The function's definition as Dana embeds it: its lines, from the `def` to its end. */
function danaDefinition(originalCode: string, analysis: FunctionAnalysis): string {
  return originalCode
    .split(/\r?\n/)
    .slice(analysis.lineno - 1, analysis.end_lineno)
    .join('\n')
    .trimEnd();
}

/**
 * The same modules around another source of the same function (equal up to comments, layout and docstrings: an L2
 * hit): both embed the original verbatim, so the caller gets back its own text, not the text the entry was made from.
 * Undefined when the modules do not embed `previous` as this template does: the caller then generates afresh.
 */
export function reembedSource(
  modules: { python: string; dana: string },
  previous: string,
  next: { code: string; analysis: FunctionAnalysis },
): { python: string; dana: string } | undefined {
  const before = splitFutureImports(previous);
  const after = splitFutureImports(next.code);
  const oldBody = before.body.trimEnd();
  if (before.future.join('\n') !== after.future.join('\n') || !modules.python.includes(oldBody)) return undefined;
  const python = modules.python.replace(oldBody, () => after.body.trimEnd());
  const [header, decorator] = modules.dana.split('\n');
  if (header === undefined || !decorator?.startsWith('@poet(')) return undefined;
  return { python, dana: [header, decorator, danaDefinition(next.code, next.analysis), ''].join('\n') };
}

/** Dana (aitomatic/dana) mirrors Python: the original definition under an @poet decorator with the same settings. */
function renderDana(input: TemplateInput, params: Record<string, JsonValue>): string {
  const { functionName: name, originalCode, analysis } = input;
  const settings = [
    'domain',
    'optimize_for',
    'retries',
    'timeout',
    'enable_training',
    'learning_algorithm',
    'learning_rate',
  ]
    .map((key) => `${key}=${pyLiteral(params[key] ?? null)}`)
    .join(', ');
  return [
    `# POET-enhanced ${name}, generated by poet-service (${ENHANCER_VERSION}); settings as in the Python module's POET_PARAMS.`,
    `@poet(${settings})`,
    danaDefinition(originalCode, analysis),
    '',
  ].join('\n');
}

/** The module every provider ships: deterministic (same input, byte-identical output); it imports only poet_runtime. */
export function enhanceWithTemplate(input: TemplateInput): TemplateOutput {
  const params = buildParams(input.domain, input.optimizeFor, input.strict);
  const { version } = poetRuntime();
  return {
    python: renderPython(input, params, version),
    dana: renderDana(input, params),
    params,
    optimizations: listOptimizations(input.analysis, input.domain, input.strict),
    runtime_version: version,
  };
}
