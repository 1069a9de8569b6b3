import { readFileSync } from 'node:fs';
import type { Config } from '../../config';

/** What every connection to the configured cluster shares: address, TLS and credentials (Temporal Cloud takes either). */
export function temporalConnectionOptions(config: Config): {
  address: string;
  tls?: { clientCertPair?: { crt: Buffer; key: Buffer } };
  apiKey?: string;
} {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required (poet start provides a dev server)');
  const certPath = config.TEMPORAL_TLS_CERT_PATH;
  const keyPath = config.TEMPORAL_TLS_KEY_PATH;
  if (Boolean(certPath) !== Boolean(keyPath))
    throw new Error('TEMPORAL_TLS_CERT_PATH and TEMPORAL_TLS_KEY_PATH go together');
  const clientCertPair = certPath && keyPath ? { crt: readFileSync(certPath), key: readFileSync(keyPath) } : undefined;
  const tls = clientCertPair || config.TEMPORAL_API_KEY ? { clientCertPair } : undefined;
  return {
    address: config.TEMPORAL_ADDRESS,
    ...(tls && { tls }),
    ...(config.TEMPORAL_API_KEY && { apiKey: config.TEMPORAL_API_KEY }),
  };
}
