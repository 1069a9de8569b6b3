import { AsyncLocalStorage } from 'node:async_hooks';
import winston from 'winston';
import { redactSecrets } from './redact';

export type Logger = winston.Logger;

/** Correlation fields every log line carries while a request or an activity is being handled. */
export interface LogContext {
  request_id?: string;
  workflow_id?: string;
  run_id?: string;
  activity?: string;
}

const contextStorage = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` added to the current correlation context (nested contexts inherit the outer one). */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return contextStorage.run({ ...contextStorage.getStore(), ...fields }, fn);
}

export function currentLogContext(): LogContext {
  return contextStorage.getStore() ?? {};
}

/** Adds the correlation context of where the line was logged (fields the call sets itself win). */
const correlate = winston.format((info) => {
  for (const [key, value] of Object.entries(currentLogContext())) {
    if (value !== undefined && info[key] === undefined) info[key] = value;
  }
  return info;
});

/** One JSON object per line, secrets masked (./redact); `service` tells API and worker lines apart when they share a sink. */
export function createLogger(opts: {
  level: string;
  service: string;
  silent?: boolean;
  stream?: NodeJS.WritableStream;
}): Logger {
  // Winston formats every line before its transports drop those below the level: masking and JSON for each activity's
  // info line cost the worker CPU on every run at LOG_LEVEL=warn or error. Lines the logger would drop stop here.
  const enabled = winston.format((info) => logger.isLevelEnabled(info.level) && info);
  const logger = winston.createLogger({
    level: opts.level,
    silent: opts.silent ?? false,
    defaultMeta: { service: opts.service },
    format: winston.format.combine(
      enabled(),
      winston.format.timestamp(),
      winston.format.errors({ stack: false }),
      correlate(),
      redactSecrets(),
      winston.format.json(),
    ),
    transports: [
      opts.stream ? new winston.transports.Stream({ stream: opts.stream }) : new winston.transports.Console(),
    ],
  });
  return logger;
}
