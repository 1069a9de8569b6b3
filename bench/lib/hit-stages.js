'use strict';
// Where one cache hit's time goes (bench/hit-breakdown.js), from three clocks of this one machine: the client's send
// and receive times, the API's access line (its arrival and answer) when there is an API, and the run's history (the
// server's event times, and the local activities' times that the SDK records in their markers).
// The history as `fetchHistory()` returns it, through JSON (event types as `EVENT_TYPE_...` names, times as
// { seconds, nanos }, payload data base64).

const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** A protobuf Timestamp in ms since the epoch. */
function timestampMs({ seconds, nanos = 0 }) {
  return Number(seconds) * 1000 + nanos / 1e6;
}

/**
 * What the SDK records in a local activity's marker: its type, when the SDK scheduled it (wall clock) and its
 * completion time, which is the workflow's time when it was scheduled plus how long it ran.
 */
function localActivityMarker(event) {
  const attributes = event.markerRecordedEventAttributes;
  if (attributes?.markerName !== LOCAL_ACTIVITY_MARKER) return undefined;
  const data = JSON.parse(Buffer.from(attributes.details.data.payloads[0].data, 'base64').toString('utf8'));
  return {
    type: data.activity_type,
    scheduledAt: timestampMs(data.original_schedule_time),
    completeTime: timestampMs(data.complete_time),
  };
}

/**
 * The time the API received a request and the time it answered, from its access line (level `http`): the line is
 * written when the answer is out, stamped to the ms (taken as the middle of that ms), with the request's duration
 * since it reached the API's first middleware.
 */
function apiTimes(accessLine) {
  const answeredAt = Date.parse(accessLine.timestamp) + 0.5;
  return { arrivedAt: answeredAt - accessLine.duration_ms, answeredAt, durationMs: accessLine.duration_ms };
}

/**
 * The stages of one hit, in ms: `sentAt` and `receivedAt` on the client (ms since the epoch), `api` (apiTimes) for a
 * request through the API, and the run's history events. The top-level stages tile the whole request; `wft.*` tile
 * the first workflow task, `client_to_started.*` and `answer.*` the API's part of the stages around it.
 * The workflow's time only moves on when a local activity resolves, so with local activities run one after another
 * (as a hit's are) each ran for its completion time less the previous one's (the first: less the task's start).
 * Undefined when the update was not answered by the first workflow task (a task that failed or timed out and ran
 * again), whose stages would not compare.
 */
function hitStages({ sentAt, receivedAt, api, events }) {
  const first = (type) => events.find((e) => e.eventType === `EVENT_TYPE_${type}`);
  const started = first('WORKFLOW_EXECUTION_STARTED');
  const taskStarted = first('WORKFLOW_TASK_STARTED');
  const taskCompleted = first('WORKFLOW_TASK_COMPLETED');
  const updateCompleted = first('WORKFLOW_EXECUTION_UPDATE_COMPLETED');
  if (!started || !taskStarted || !taskCompleted || !updateCompleted) return undefined;
  const taskId = Number(taskCompleted.eventId);
  const nextTask = events.find(
    (e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED' && Number(e.eventId) > taskId,
  );
  if (nextTask && Number(nextTask.eventId) < Number(updateCompleted.eventId)) return undefined;
  const markers = events
    .filter((e) => Number(e.markerRecordedEventAttributes?.workflowTaskCompletedEventId) === taskId)
    .map(localActivityMarker)
    .filter((m) => m !== undefined);
  if (markers.length === 0) return undefined;

  const t = {
    started: timestampMs(started.eventTime),
    taskStarted: timestampMs(taskStarted.eventTime),
    taskCompleted: timestampMs(taskCompleted.eventTime),
    updateCompleted: timestampMs(updateCompleted.eventTime),
  };
  const stages = {
    total: receivedAt - sentAt,
    client_to_started: t.started - sentAt,
    to_task_started: t.taskStarted - t.started,
    wft: t.taskCompleted - t.taskStarted,
    completion: t.updateCompleted - t.taskCompleted,
    answer: receivedAt - t.updateCompleted,
    'wft.to_first_la': markers[0].scheduledAt - t.taskStarted,
    'wft.la_run': 0,
    'wft.between_las': 0,
  };
  let workflowTime = t.taskStarted;
  let previousDone;
  for (const marker of markers) {
    const ran = marker.completeTime - workflowTime;
    workflowTime = marker.completeTime;
    stages['wft.la_run'] += ran;
    stages[`wft.la_run.${marker.type}`] = (stages[`wft.la_run.${marker.type}`] ?? 0) + ran;
    if (previousDone !== undefined) stages['wft.between_las'] += marker.scheduledAt - previousDone;
    previousDone = marker.scheduledAt + ran;
  }
  stages['wft.after_last_la'] = t.taskCompleted - previousDone;
  if (api) {
    stages['client_to_started.http_in'] = api.arrivedAt - sentAt;
    stages['client_to_started.api'] = t.started - api.arrivedAt;
    stages['answer.api'] = api.answeredAt - t.updateCompleted;
    stages['answer.http_out'] = receivedAt - api.answeredAt;
    stages.http_both_ways = receivedAt - sentAt - api.durationMs;
  }
  return stages;
}

module.exports = { hitStages, apiTimes, timestampMs };
