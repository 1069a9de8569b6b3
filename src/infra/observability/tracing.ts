import { LangSmithPlugin } from '@temporalio/langsmith';
import { Client as LangSmithClient } from 'langsmith';
import type { Config } from '../../config';

/**
 * LangSmith tracing through Temporal's own plugin: one run tree per workflow, a child run per activity,
 * and whatever `traceable` the activities call (LLM calls with their token counts) nested inside.
 * Undefined (no plugin, no tracing, nothing sent) unless LANGSMITH_API_KEY is set.
 */
export interface Tracing {
  plugin: LangSmithPlugin;
  /** Sends the runs still queued in the LangSmith client. */
  flush(): Promise<void>;
}

export function createTracing(config: Config): Tracing | undefined {
  if (!config.LANGSMITH_API_KEY) return undefined;
  // The plugin and `traceable` consult langsmith's own process-wide switch; the key alone is our switch, so set it.
  process.env.LANGSMITH_TRACING = 'true';
  const client = new LangSmithClient({ apiKey: config.LANGSMITH_API_KEY, apiUrl: config.LANGSMITH_ENDPOINT });
  return {
    plugin: new LangSmithPlugin({
      client,
      addTemporalRuns: true,
      projectName: config.LANGSMITH_PROJECT,
      tags: ['poet-service'],
    }),
    flush: () => client.awaitPendingTraceBatches(),
  };
}
