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
