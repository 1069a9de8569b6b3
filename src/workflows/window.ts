/** The innermost message of a child's failure (ChildWorkflowFailure → ActivityFailure → ApplicationFailure). */
export function rootMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(err);
}

/**
 * Runs `run(0) … run(count - 1)` with at most `concurrency` under way (a sliding window): each lane takes the next
 * index as soon as its previous one ends, in index order, so the commands a workflow issues stay deterministic.
 */
export async function slidingWindow(
  count: number,
  concurrency: number,
  run: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await run(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
