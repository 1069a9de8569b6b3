import { clusterScript } from '../helpers/topology';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__POET_TEMPORAL__?.teardown();
  if (globalThis.__POET_CLUSTER_STARTED__) clusterScript('down');
}
