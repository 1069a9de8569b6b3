'use strict';
// Workflows of the floor benchmark: the hit path's shape with no work in it (bench/floor.js).
const { condition, defineUpdate, proxyLocalActivities, setHandler } = require('@temporalio/workflow');

const { noop } = proxyLocalActivities({ startToCloseTimeout: '5s' });
const resultUpdate = defineUpdate('result');

/** Started and answered, nothing else. */
async function bare() {
  return 'ok';
}

/** A cache hit's shape: two lookups, the answer by update, then a publish, each a local activity that does nothing. */
async function hitShape() {
  let answer;
  setHandler(resultUpdate, async () => {
    await condition(() => answer !== undefined);
    return answer;
  });
  await noop();
  await noop();
  answer = 'ok';
  await noop();
  return answer;
}

module.exports = { bare, hitShape };
