import type { RuntimeOptions } from '@temporalio/worker';
import type { Config } from '../config';

/** Temporal runtime telemetry: its Prometheus exporter on TEMPORAL_METRICS_BIND_ADDRESS, when set. */
export function runtimeTelemetry(config: Config): Pick<RuntimeOptions, 'telemetryOptions'> {
  if (!config.TEMPORAL_METRICS_BIND_ADDRESS) return {};
  return {
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress: config.TEMPORAL_METRICS_BIND_ADDRESS,
          countersTotalSuffix: true,
          useSecondsForDurations: true,
          unitSuffix: true,
        },
      },
    },
  };
}
