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

/** What the re-evaluation schedule's runs are about: they span every tenant of the schema, so no function line. */
export const REEVALUATION_SUMMARY =
  'scheduled re-evaluation: regenerate the functions whose feedback crossed the Train thresholds';
export const REEVALUATION_DETAILS = [
  '- **functions**: those of every tenant in the schema with feedback on their active version since their last evaluation',
  '- **version**: a new one for each Train says must change, made by a child `regenerateFromFeedback` run',
  '- **trigger**: reevaluation (this schedule)',
  '- **parent version**: the active version of each function',
].join('\n');

/** What a key rotation's runs are about: every stored payload of the schema, towards one key. */
export const rotationSummary = (targetKeyId: string) =>
  `re-encrypt stored payloads, rows and artifacts under key ${targetKeyId}`;
export const rotationDetails = (targetKeyId: string) =>
  [
    '- **what**: every stored payload, encrypted row (versions, feedback, feedback examples) and encrypted artifact file of the schema not under the target key',
    `- **target key**: \`${targetKeyId}\``,
    '- **trigger**: `poet keys rotate-data`',
  ].join('\n');

/**
 * A page of a continue-as-new chain: its static summary and details stay on the chain's first run (the SDK's
 * continue-as-new carries none), so every page shows them, with its progress, as its current details.
 */
export const pageDetails = (details: string, progress: string) => `${details}\n- **progress**: ${progress}`;
