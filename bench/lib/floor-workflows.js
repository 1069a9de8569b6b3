'use strict';
// Workflows of the floor benchmark: the hit path's shape with no work in it (bench/floor.js).
const { condition, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } = require('@temporalio/workflow');

const { noop } = proxyLocalActivities({ startToCloseTimeout: '5s' });
const { sleep } = proxyActivities({ startToCloseTimeout: '10s' });
const resultUpdate = defineUpdate('result');

/** Started and answered, nothing else. */
async function bare() {
  return 'ok';
}

/** The update every caller waits on, as enhanceFunction's: it answers once the returned function is called. */
function answerByUpdate() {
  let answer;
  setHandler(resultUpdate, async () => {
    await condition(() => answer !== undefined);
    return answer;
  });
  return (value) => {
    answer = value;
    return value;
  };
}

/** A cache hit's shape: two lookups, the answer by update, then a publish, each a local activity that does nothing. */
async function hitShape() {
  const answer = answerByUpdate();
  await noop();
  await noop();
  answer('ok');
  await noop();
  return 'ok';
}

/**
 * A cache miss's shape: the lookups, two activities that only wait (the model's answer, then the validation), the
 * cache and version writes side by side, the publish, then the answer.
 */
async function missShape(llmMs, validateMs) {
  const answer = answerByUpdate();
  await noop();
  await noop();
  await sleep(llmMs);
  await sleep(validateMs);
  await Promise.all([noop(), noop()]);
  await noop();
  return answer('ok');
}

module.exports = { bare, hitShape, missShape };
