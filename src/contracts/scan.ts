import { z } from 'zod';

/** A static-scan finding (python3 `ast`): `blocked` code is never executed, nor stored as active. */
export const ScanFinding = z.object({
  rule: z.string(),
  severity: z.enum(['blocked', 'low', 'medium']),
  message: z.string(),
  line: z.number().int().nullable(),
});
export type ScanFinding = z.infer<typeof ScanFinding>;
