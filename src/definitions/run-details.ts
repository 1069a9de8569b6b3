/** What an operator reads on a run in the Temporal UI (its staticDetails) without decoding a payload. */
export interface RunFacts {
  function_name: string;
  /** The version the run is about, or what decides it (an enhancement's is the run's to find). */
  version: string;
  domain?: string;
  /** request, feedback, reevaluation, activation, or the event a delivery is for. */
  trigger: string;
  /** The version it starts from: the one regenerated, or the one an activation replaces. */
  parent_version?: number | null;
  tenant_id: string;
}

const NONE = '–';

/** Markdown: one line per fact, the same order on every workflow type. */
export function runDetails(facts: RunFacts): string {
  const parent =
    facts.parent_version === undefined || facts.parent_version === null ? NONE : `v${facts.parent_version}`;
  return [
    `- **function**: \`${facts.function_name}\``,
    `- **version**: ${facts.version}`,
    `- **domain**: ${facts.domain ?? NONE}`,
    `- **trigger**: ${facts.trigger}`,
    `- **parent version**: ${parent}`,
    `- **tenant**: \`${facts.tenant_id}\``,
  ].join('\n');
}

/** An enhancement's version is the run's to decide: the active one when it answers the input, else a new one. */
export const ENHANCE_VERSION = 'the active one if it answers this input, else a new one';
