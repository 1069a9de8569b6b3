import type { ScheduleView } from '../contracts/reevaluation';
import type { Schedules } from '../infra/temporal/schedules';
import { ForbiddenError, NotFoundError } from './errors';

function found(id: string, view: ScheduleView | undefined): ScheduleView {
  if (!view) throw new NotFoundError('schedule_not_found', `no schedule with id ${id}`);
  return view;
}

/** The deployment's schedules act on every tenant: only the operator tenant may see or steer them. */
export class ScheduleControl {
  constructor(
    private readonly schedules: Schedules,
    private readonly operatorTenant: string,
  ) {}

  async list(tenantId: string): Promise<ScheduleView[]> {
    this.allow(tenantId);
    return this.schedules.list();
  }

  /** Pause or unpause with a note; the schedule's state after. */
  async annotate(tenantId: string, id: string, action: 'pause' | 'unpause', note: string): Promise<ScheduleView> {
    this.allow(tenantId);
    return found(id, await this.schedules[action](id, note));
  }

  /** Starts the schedule's action now (skipped while one is running); the schedule's state after. */
  async trigger(tenantId: string, id: string): Promise<ScheduleView> {
    this.allow(tenantId);
    return found(id, await this.schedules.trigger(id));
  }

  private allow(tenantId: string): void {
    if (tenantId !== this.operatorTenant) {
      throw new ForbiddenError(
        'forbidden',
        'schedules span every tenant: only operators of the operator tenant may use them',
      );
    }
  }
}
