import winston from 'winston';
import { redactSecrets } from './redact';

export type Logger = winston.Logger;

/** One JSON object per line; `service` tells API and worker lines apart when they share a sink. */
export function createLogger(opts: { level: string; service: string; silent?: boolean }): Logger {
  return winston.createLogger({
    level: opts.level,
    silent: opts.silent ?? false,
    defaultMeta: { service: opts.service },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), redactSecrets(), winston.format.json()),
    transports: [new winston.transports.Console()],
  });
}
