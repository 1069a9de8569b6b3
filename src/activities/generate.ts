import { ApplicationFailure } from '@temporalio/activity';
import type { EnhanceRequest, EnhancedArtifact, Guidance } from '../contracts/enhance';
import { FailureType } from '../contracts/errors';
import type { PythonAnalyzer } from '../infra/python-analyzer';
import { applyOptimizeFor, getDomain, listDomainNames } from '../poet/domains';
import { ENHANCER_VERSION, enhanceWithTemplate } from '../poet/template';

const invalid = (message: string) => ApplicationFailure.create({ type: FailureType.InvalidInput, nonRetryable: true, message });

export function createGenerateActivity(analyzer: PythonAnalyzer) {
  return {
    async generate(input: { request: EnhanceRequest; guidance?: Guidance }): Promise<EnhancedArtifact> {
      const { request, guidance } = input;
      const analysis = await analyzer.analyze(request.original_code);
      if (!analysis.ok) {
        throw invalid(`original_code is not valid Python: ${analysis.error.message} (line ${analysis.error.line ?? '?'})`);
      }
      const fn = analysis.functions.find((f) => f.name === request.function_name);
      if (!fn) throw invalid(`original_code defines no top-level function named ${request.function_name}`);
      const domain = getDomain(request.domain);
      if (!domain) throw invalid(`unknown domain ${request.domain}; valid domains: ${listDomainNames().join(', ')}`);

      const shifted = request.optimize_for ? applyOptimizeFor(domain, request.optimize_for) : domain;
      const enhanced = enhanceWithTemplate({
        functionName: request.function_name,
        originalCode: request.original_code,
        analysis: fn,
        domain: guidance ? { ...shifted, operate: { ...shifted.operate, ...guidance.operate } } : shifted,
        optimizeFor: request.optimize_for ?? null,
      });
      return { ...enhanced, provider: 'template', enhancer_version: ENHANCER_VERSION };
    },
  };
}
