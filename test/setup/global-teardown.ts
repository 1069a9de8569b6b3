export default async function globalTeardown(): Promise<void> {
  await globalThis.__POET_TEMPORAL__?.teardown();
}
