import type { Stage, StageTransition } from '../contracts/progress';

/** The stages a run went through, stamped with workflow time (deterministic: the same on replay). */
export class StageHistory {
  readonly history: StageTransition[] = [];

  constructor() {
    this.enter('queued');
  }

  get stage(): Stage {
    return this.history[this.history.length - 1]!.stage;
  }

  enter(stage: Stage, detail?: string): void {
    this.history.push({ stage, at: new Date().toISOString(), ...(detail ? { detail } : {}) });
  }
}
