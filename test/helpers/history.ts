import type { temporal } from '@temporalio/proto';

/** What a local activity's marker records: its type and the attempt that completed it (undefined for other events). */
export function localActivityOf(
  event: temporal.api.history.v1.IHistoryEvent,
): { activity_type: string; attempt: number } | undefined {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : undefined;
  return data
    ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string; attempt: number })
    : undefined;
}
