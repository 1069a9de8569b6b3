import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import type { EnhanceRequest } from '../contracts/enhance';

/** Typed search attributes: operators find runs in the Temporal UI by these. Registered on the dev server at start. */
export const FunctionNameKey = defineSearchAttributeKey('FunctionName', SearchAttributeType.KEYWORD);
export const DomainKey = defineSearchAttributeKey('Domain', SearchAttributeType.KEYWORD);
export const CacheOutcomeKey = defineSearchAttributeKey('CacheOutcome', SearchAttributeType.KEYWORD);
export const OutcomeKey = defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD);
export const ProviderKey = defineSearchAttributeKey('Provider', SearchAttributeType.KEYWORD);
/** The tenant whose run it is: an operator filters one tenant's runs (`Tenant = "acme"`). */
export const TenantKey = defineSearchAttributeKey('Tenant', SearchAttributeType.KEYWORD);

/** A rollout's candidate share in percent (`RolloutStep = "25"`), or how it ended (`promoted`, `rolled_back`). */
export const RolloutStepKey = defineSearchAttributeKey('RolloutStep', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS = [
  FunctionNameKey,
  DomainKey,
  CacheOutcomeKey,
  OutcomeKey,
  ProviderKey,
  TenantKey,
  RolloutStepKey,
];
/** What a Temporal dev server is started with (all of them are keywords). */
export const SEARCH_ATTRIBUTE_NAMES = SEARCH_ATTRIBUTE_KEYS.map((key) => key.name);

/**
 * What a run about one function starts with, whoever starts it: its function, tenant and, when known, domain (the
 * outcome, provider and cache outcome are the run's to upsert).
 */
export function functionSearchAttributes(
  tenantId: string,
  functionName: string,
  domain: string | undefined,
): SearchAttributePair[] {
  return [
    { key: FunctionNameKey, value: functionName },
    ...(domain !== undefined ? [{ key: DomainKey, value: domain }] : []),
    { key: TenantKey, value: tenantId },
  ];
}

/** What an enhanceFunction run starts with, whoever starts it (the API, or a batch for each item). */
export function enhanceSearchAttributes(
  request: Pick<EnhanceRequest, 'function_name' | 'domain'>,
  tenantId: string,
): SearchAttributePair[] {
  return functionSearchAttributes(tenantId, request.function_name, request.domain);
}
