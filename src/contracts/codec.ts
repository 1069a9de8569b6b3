import { z } from 'zod';

const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');

/** A Temporal payload in proto JSON, as the Temporal UI's remote codec protocol sends it: bytes as base64. */
export const JsonPayload = z.object({
  metadata: z.record(z.string(), Base64).default({}),
  data: Base64.default(''),
});

export const CodecRequest = z.object({ payloads: z.array(JsonPayload).max(1_000) });
export type CodecRequest = z.infer<typeof CodecRequest>;
