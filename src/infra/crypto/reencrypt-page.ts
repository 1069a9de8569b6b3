import type { ReencryptPageResult } from '../../contracts/key-rotation';

/** One more under `key` in a page's per-key counts. */
export const bump = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/** A page's counts before any of its `read` rows is done. */
export const emptyPage = (read: number): ReencryptPageResult => ({
  rewritten: {},
  classified: 0,
  concurrent: 0,
  unreadable: {},
  read,
});

/**
 * The end of a page of a scan in row id order: the last id read when a full page leaves more to scan, with the
 * count of what follows when asked; nothing more (remaining 0) after a short page.
 */
export async function endOfPage(
  result: ReencryptPageResult,
  ids: string[],
  limit: number,
  countAfter: ((last: string) => Promise<number>) | undefined,
): Promise<ReencryptPageResult & { last?: string }> {
  const last = ids.at(-1);
  if (last === undefined || ids.length < limit) return { ...result, remaining: 0 };
  return { ...result, last, ...(countAfter ? { remaining: await countAfter(last) } : {}) };
}
