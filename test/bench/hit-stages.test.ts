import path from 'node:path';

// How bench/hit-breakdown.js splits one cache hit into stages (bench/lib/hit-stages.js): the arithmetic on a hit's
// history as the benchmark reads it (event times and local-activity markers of a real run, payloads left out).
const { hitStages, apiTimes } = require(path.join(__dirname, '..', '..', 'bench', 'lib', 'hit-stages.js'));

const SECOND = 1796525007; // 2026-12-06T02:43:27Z
const at = (ms: number) => ({ seconds: String(SECOND), nanos: Math.round(ms * 1e6) });
const ms = (msInSecond: number) => SECOND * 1000 + msInSecond;

function marker(eventId: number, seq: number, type: string, scheduledMs: number, completeMs: number) {
  const data = {
    seq,
    attempt: 1,
    activity_id: String(seq),
    activity_type: type,
    complete_time: { seconds: SECOND, nanos: Math.round(completeMs * 1e6) },
    backoff: null,
    original_schedule_time: { seconds: SECOND, nanos: Math.round(scheduledMs * 1e6) },
  };
  return {
    eventId: String(eventId),
    eventTime: at(681.8),
    eventType: 'EVENT_TYPE_MARKER_RECORDED',
    markerRecordedEventAttributes: {
      markerName: 'core_local_activity',
      details: { data: { payloads: [{ data: Buffer.from(JSON.stringify(data)).toString('base64') }] } },
      workflowTaskCompletedEventId: '4',
    },
  };
}

const event = (eventId: number, type: string, time: number) => ({
  eventId: String(eventId),
  eventTime: at(time),
  eventType: `EVENT_TYPE_${type}`,
});

// A hit answered by its first workflow task: the cache lookup, then the publish, each a local activity.
const HIT = [
  event(1, 'WORKFLOW_EXECUTION_STARTED', 588.883456),
  event(2, 'WORKFLOW_TASK_SCHEDULED', 589.025302),
  event(3, 'WORKFLOW_TASK_STARTED', 593.268558),
  event(4, 'WORKFLOW_TASK_COMPLETED', 681.637048),
  event(5, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED', 681.724357),
  marker(6, 1, 'cacheLookupWithVersion', 618.282777, 599.084174),
  event(7, 'UPSERT_WORKFLOW_SEARCH_ATTRIBUTES', 682.66044),
  event(8, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED', 682.742657),
  marker(9, 2, 'publish', 629.09981, 645.518367),
  event(10, 'WORKFLOW_EXECUTION_COMPLETED', 683.186865),
];

describe('hitStages', () => {
  const api = apiTimes({ timestamp: '2026-12-06T02:43:27.687Z', duration_ms: 101 });
  const stages = hitStages({ sentAt: ms(585), receivedAt: ms(690), api, events: HIT });

  it('tiles the request with the history, the API’s access line and the client’s times', () => {
    expect(stages.client_to_started).toBeCloseTo(3.883456, 3);
    expect(stages.to_task_started).toBeCloseTo(4.385102, 3);
    expect(stages.wft).toBeCloseTo(88.36849, 3);
    expect(stages.completion).toBeCloseTo(1.105609, 3);
    expect(stages.answer).toBeCloseTo(7.257343, 3);
    const tiled = ['client_to_started', 'to_task_started', 'wft', 'completion', 'answer'].map((k) => stages[k]);
    expect(tiled.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(stages.total, 3);
    expect(stages.total).toBeCloseTo(105, 3);
  });

  it('reads each local activity’s run from the workflow time it advanced, and splits the task around them', () => {
    // The lookup ran from the task's start time; the publish from the lookup's completion, which the time moved to.
    expect(stages['wft.la_run.cacheLookupWithVersion']).toBeCloseTo(5.815616, 3);
    expect(stages['wft.la_run.publish']).toBeCloseTo(46.434193, 3);
    expect(stages['wft.to_first_la']).toBeCloseTo(25.014219, 3);
    expect(stages['wft.between_las']).toBeCloseTo(5.001417, 3);
    expect(stages['wft.after_last_la']).toBeCloseTo(6.103045, 3);
    const parts = ['wft.to_first_la', 'wft.la_run', 'wft.between_las', 'wft.after_last_la'].map((k) => stages[k]);
    expect(parts.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(stages.wft, 3);
  });

  it('places the API between the client and the history, from the access line’s stamp and duration', () => {
    expect(stages['client_to_started.http_in']).toBeCloseTo(1.5, 3);
    expect(stages['client_to_started.api']).toBeCloseTo(2.383456, 3);
    expect(stages['answer.api']).toBeCloseTo(4.757343, 3);
    expect(stages['answer.http_out']).toBeCloseTo(2.5, 3);
    expect(stages.http_both_ways).toBeCloseTo(4, 3);
  });

  it('has no API stages for the floor, which has no API', () => {
    const floor = hitStages({ sentAt: ms(585), receivedAt: ms(690), events: HIT });
    expect(floor.total).toBeCloseTo(105, 3);
    expect(Object.keys(floor).filter((k) => k.includes('http') || k.endsWith('.api'))).toEqual([]);
  });

  it('leaves out a hit whose first workflow task did not answer it', () => {
    const retried = [
      ...HIT.slice(0, 5),
      marker(6, 1, 'cacheLookupWithVersion', 618.282777, 599.084174),
      event(7, 'WORKFLOW_TASK_SCHEDULED', 690),
      event(8, 'WORKFLOW_TASK_STARTED', 691),
      event(9, 'WORKFLOW_TASK_COMPLETED', 700),
      event(10, 'WORKFLOW_EXECUTION_UPDATE_COMPLETED', 700.1),
    ];
    expect(hitStages({ sentAt: ms(585), receivedAt: ms(710), events: retried })).toBeUndefined();
  });
});
