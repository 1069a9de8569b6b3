import type { Pool } from 'pg';
import { type ReencryptPageResult, type RotationCursor, RotationStage } from '../../contracts/key-rotation';
import { RowKeys, SEALED_TABLES, type SealedTableName } from '../db/row-keys';
import { ArtifactKeys } from '../storage/artifact-keys';
import type { ArtifactStore } from '../storage/artifact-store';
import { EncryptionCodec } from '../temporal/encryption-codec';
import { PayloadKeys } from '../temporal/payload-keys';
import { FieldCipher } from './field-cipher';
import { KeyRing, type KeyRingSettings } from './key-ring';

const STAGES = RotationStage.options;
const isTable = (stage: RotationStage): stage is SealedTableName => stage in SEALED_TABLES;

/** Stored data by key id, per place it is stored in. */
export type KeyUsage = Record<RotationStage, Record<string, number>>;

/**
 * Everything stored under a key of the ring, and its re-encryption to the active key as one scan in stages
 * (RotationStage): the payload store, then each table with encrypted fields, then the encrypted artifact files.
 */
export class StoredKeys {
  private readonly payloads: PayloadKeys;
  private readonly rows: RowKeys;
  private readonly artifacts: ArtifactKeys;

  /** `rawArtifacts`: the artifact store without its encryption layer (createArtifactStore's `raw`). */
  constructor(pool: Pool, ring: KeyRingSettings, rawArtifacts: ArtifactStore) {
    const keyRing = new KeyRing(ring);
    const cipher = new FieldCipher(keyRing);
    this.payloads = new PayloadKeys(pool, new EncryptionCodec(keyRing));
    this.rows = new RowKeys(pool, cipher);
    this.artifacts = new ArtifactKeys(pool, rawArtifacts, cipher);
  }

  get activeKeyId(): string {
    return this.payloads.activeKeyId;
  }

  /**
   * One page of the stage `after` is in; at a stage's end the cursor moves to the start of the next, and there is
   * none after the last. `remaining` (when the stage counted it) includes every later stage.
   */
  async reencryptPage(
    after: RotationCursor | undefined,
    limit: number,
    countRemaining: boolean,
  ): Promise<ReencryptPageResult> {
    const stage = after?.stage ?? 'payloads';
    let page: ReencryptPageResult;
    if (stage === 'payloads') page = await this.payloads.reencryptPage(after, limit, countRemaining);
    else {
      const { last, ...done } = isTable(stage)
        ? await this.rows.reencryptPage(stage, after?.id, limit, countRemaining)
        : await this.artifacts.reencryptPage(after?.id, limit, countRemaining);
      page = last === undefined ? done : { ...done, next: { stage, tenant_id: '', id: last } };
    }
    const following = STAGES[STAGES.indexOf(stage) + 1];
    if (page.next === undefined && following !== undefined)
      page = { ...page, next: { stage: following, tenant_id: '', id: '' } };
    if (page.remaining !== undefined) page = { ...page, remaining: page.remaining + (await this.pendingAfter(stage)) };
    return page;
  }

  /** Stored data by key id, everywhere (payloads: '' for unencrypted rows; rows: `unencrypted`). */
  async usage(): Promise<KeyUsage> {
    return {
      payloads: await this.payloads.usage(),
      ...(await this.rows.usage()),
      artifacts: await this.artifacts.usage(),
    };
  }

  /** What is not under the active key in the stages after `stage`. */
  private async pendingAfter(stage: RotationStage): Promise<number> {
    let n = 0;
    for (const later of STAGES.slice(STAGES.indexOf(stage) + 1))
      n += isTable(later)
        ? await this.rows.count(later, this.activeKeyId)
        : later === 'artifacts'
          ? await this.artifacts.count(this.activeKeyId)
          : 0;
    return n;
  }
}
