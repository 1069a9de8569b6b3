import type { FunctionAnalysis } from '../../src/contracts/analysis';
import type { SandboxRequest, SandboxResult } from '../../src/contracts/analysis';
import type { SandboxOptions } from '../../src/infra/sandbox/run';
import type { DomainSettings } from '../../src/poet/domains';
import type { TemplateInput, TemplateOutput } from '../../src/poet/template';

export interface CorpusCase {
  category: string;
  name: string;
  code: string;
  samples?: SandboxRequest['samples'];
  analysis: FunctionAnalysis;
}

export interface CaseOutcome {
  compiled: boolean;
  ran: boolean;
  preserved: boolean;
  safety_level: string;
  samples_run: number;
  duration_ms: number;
  problems: string[];
}

export function listCases(analyzer: { analyze(code: string): Promise<unknown> }): Promise<CorpusCase[]>;
export function runCase(
  tools: {
    enhanceWithTemplate(input: TemplateInput): TemplateOutput;
    runSandbox(req: SandboxRequest, opts: SandboxOptions): Promise<SandboxResult>;
  },
  testCase: CorpusCase,
  domain: DomainSettings,
  sandboxOptions: SandboxOptions,
): Promise<CaseOutcome>;

export interface DoctestCase {
  /** `file::function`, file relative to test/corpus. */
  id: string;
  file: string;
  module: string;
  name: string;
  code: string;
  analysis: FunctionAnalysis;
}

export type ExampleOutcome = { ok: true } | { ok: false; got: string; rule: boolean };

export interface DoctestResult {
  id: string;
  shapes: string[];
  mismatches: number;
  examples: { source: string; original: ExampleOutcome; enhanced: ExampleOutcome }[];
  error?: string;
}

export interface DoctestSummary {
  functions: number;
  doctests: number;
  passed: number;
  declared: number;
  rate: number;
  changed: string[];
  undeclared: string[];
  stale: string[];
  errors: string[];
}

export interface CorpusSources {
  sources: Record<string, { license: string; repository?: string; commit?: string; notice?: string; note?: string }>;
  files: Record<string, { source: string; path?: string; functions: string[] }>;
  declared: Record<string, Record<string, { rule: string; refuses: string[] }>>;
}

export const sources: CorpusSources;
export function listDoctestCases(analyzer: { analyze(code: string): Promise<unknown> }): Promise<DoctestCase[]>;
export function runDoctests(
  tools: {
    enhanceWithTemplate(input: TemplateInput): TemplateOutput;
    strictTypes(request: { strict?: boolean }): boolean;
  },
  cases: DoctestCase[],
  domain: DomainSettings,
  options: { pythonBin: string; runtimeDir: string; pathEnv: string },
): Promise<DoctestResult[]>;
export function summarize(results: DoctestResult[], domainName: string): DoctestSummary;
export const DOCTEST_DOMAINS: string[];
