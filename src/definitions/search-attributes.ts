import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { EnhanceRequest } from '../contracts/enhance';

/** Typed search attributes: operators find runs in the Temporal UI by these. Registered on the dev server at start. */
export const FunctionNameKey = defineSearchAttributeKey('FunctionName', SearchAttributeType.KEYWORD);
export const DomainKey = defineSearchAttributeKey('Domain', SearchAttributeType.KEYWORD);
export const CacheOutcomeKey = defineSearchAttributeKey('CacheOutcome', SearchAttributeType.KEYWORD);
export const OutcomeKey = defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD);
export const ProviderKey = defineSearchAttributeKey('Provider', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [FunctionNameKey, DomainKey, CacheOutcomeKey, OutcomeKey, ProviderKey];
/** What a Temporal dev server is started with (all of them are keywords). */
export const SEARCH_ATTRIBUTE_NAMES = SEARCH_ATTRIBUTE_KEYS.map((key) => key.name);

/** What an enhanceFunction run starts with, whoever starts it (the API, or a batch for each item). */
export function enhanceSearchAttributes(
  request: Pick<EnhanceRequest, 'function_name' | 'domain'>,
): SearchAttributePair[] {
  return [
    { key: FunctionNameKey, value: request.function_name },
    { key: DomainKey, value: request.domain },
  ];
}
