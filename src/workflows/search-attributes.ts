import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed search attributes: operators find runs in the Temporal UI by these. Registered on the dev server at start. */
export const FunctionNameKey = defineSearchAttributeKey('FunctionName', SearchAttributeType.KEYWORD);
export const DomainKey = defineSearchAttributeKey('Domain', SearchAttributeType.KEYWORD);
export const CacheOutcomeKey = defineSearchAttributeKey('CacheOutcome', SearchAttributeType.KEYWORD);
export const OutcomeKey = defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD);
export const ProviderKey = defineSearchAttributeKey('Provider', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [FunctionNameKey, DomainKey, CacheOutcomeKey, OutcomeKey, ProviderKey];
