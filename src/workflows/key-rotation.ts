import { continueAsNew, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { ReencryptPageResult, RotateKeyInput, RotationProgress } from '../contracts/key-rotation';
import { rotationProgressQuery } from '../definitions/messages';
import { pageDetails, rotationDetails } from '../definitions/run-details';
import { OutcomeKey } from '../definitions/search-attributes';
import { activity } from './activities';
import { autoUpgrades } from './versioning';

const reencryptPayloads = activity('reencryptPayloads');

const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
};

function advance(progress: RotationProgress, page: ReencryptPageResult): void {
  progress.done += Object.values(page.rewritten).reduce((a, b) => a + b, 0);
  add(progress.by_key, page.rewritten);
  add(progress.unreadable, page.unreadable);
  progress.classified += page.classified;
  progress.concurrent += page.concurrent;
  // Counted on a run's first page; in between, what was read is taken off the estimate.
  progress.remaining = page.remaining ?? Math.max(0, (progress.remaining ?? 0) - page.read);
  progress.pages++;
  progress.cursor = page.next;
  progress.complete = page.next === undefined;
}

// A chain of continue-as-new runs over every payload row: pinned, it would hold an old build up as long.
autoUpgrades(rotateEncryptionKey);

/**
 * Re-encrypts every payload row not under the target key (the workers' active key), a page at a time in key order;
 * every `pages_per_run` pages it continues as new with its cursor and counts. The cursor is in the history, so a
 * crashed worker's page is retried from where it started: rows it already rewrote are under the target key and no
 * longer match. Started again later, it finds only what was written under an old key since.
 */
export async function rotateEncryptionKey(input: RotateKeyInput): Promise<RotationProgress> {
  const progress: RotationProgress = input.progress
    ? { ...input.progress, runs: input.progress.runs + 1 }
    : {
        target_key_id: input.target_key_id,
        done: 0,
        by_key: {},
        classified: 0,
        concurrent: 0,
        unreadable: {},
        pages: 0,
        runs: 1,
        complete: false,
      };
  setHandler(rotationProgressQuery, () => progress);
  setCurrentDetails(
    pageDetails(rotationDetails(input.target_key_id), `run ${progress.runs}; ${progress.done} re-encrypted so far`),
  );
  for (let page = 0; page < input.pages_per_run; page++) {
    const result = await reencryptPayloads({
      target_key_id: input.target_key_id,
      limit: input.page_size,
      count_remaining: page === 0,
      ...(progress.cursor ? { after: progress.cursor } : {}),
    });
    advance(progress, result);
    if (progress.complete) {
      const unreadable = Object.keys(progress.unreadable).length > 0;
      upsertSearchAttributes([{ key: OutcomeKey, value: unreadable ? 'partial' : 'completed' }]);
      return progress;
    }
  }
  return continueAsNew<typeof rotateEncryptionKey>({ ...input, progress });
}
