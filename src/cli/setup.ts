import type { Connection } from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_KEYS } from '../definitions/search-attributes';

const { IndexedValueType } = temporal.api.enums.v1;

export interface SearchAttributeSetup {
  added: string[];
  present: string[];
}

/**
 * Registers the workflows' search attributes on a namespace of a self-hosted cluster, adding only the missing ones,
 * so it can run before every rollout. One already registered with another type is an error: the workflows would fail
 * to upsert it. (Temporal Cloud registers them through tcld or its UI instead: its operator service refuses this call.)
 */
export async function registerSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: readonly { name: string; type: SearchAttributeType }[] = SEARCH_ATTRIBUTE_KEYS,
): Promise<SearchAttributeSetup> {
  const indexedType = (type: SearchAttributeType) => IndexedValueType[`INDEXED_VALUE_TYPE_${type}`];
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = customAttributes ?? {};
  const conflicts = keys.filter((key) => key.name in existing && existing[key.name] !== indexedType(key.type));
  if (conflicts.length > 0) {
    const described = conflicts.map(
      (key) => `${key.name} is ${IndexedValueType[existing[key.name]!]}, wanted ${key.type}`,
    );
    throw new Error(
      `search attributes registered with another type on namespace ${namespace}: ${described.join('; ')}`,
    );
  }
  const missing = keys.filter((key) => !(key.name in existing));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedType(key.type)])),
    });
  }
  return {
    added: missing.map((key) => key.name),
    present: keys.filter((key) => key.name in existing).map((key) => key.name),
  };
}
