import { randomBytes } from 'node:crypto';
import type { Config } from '../config';
import { EventType } from '../contracts/events';
import type {
  CreateWebhookRequest,
  DeliveriesQuery,
  WebhookCreated,
  WebhookTestResult,
  WebhookView,
} from '../contracts/webhooks';
import { InvalidPageToken } from '../infra/db/events-repo';
import { attemptRecord, type WebhookEventBody, type WebhooksRepo } from '../infra/db/webhooks-repo';
import { checkWebhookUrl, sendWebhook } from '../infra/events/webhook-http';
import { InvalidInputError, NotFoundError } from './errors';

const EVENT_TYPES: readonly string[] = EventType.options;

const notFound = (id: string) => new NotFoundError('webhook_not_found', `no webhook ${id}`);

/** The body's event types, each known (or `*`), without repeats; `*` alone stands for all. */
function eventTypesOf(types: string[]): string[] {
  const unknown = types
    .map((type, i) => ({ type, i }))
    .filter(({ type }) => type !== '*' && !EVENT_TYPES.includes(type));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `unknown event type; valid: ${EVENT_TYPES.join(', ')} or *`,
      unknown.map(({ type, i }) => ({
        path: `event_types.${i}`,
        message: `unknown event type ${JSON.stringify(type)}`,
      })),
      'unknown_event_type',
    );
  }
  return types.includes('*') ? ['*'] : [...new Set(types)];
}

/** A tenant's webhooks: registered, read, deleted, their delivery log, and a ping on demand. */
export class Webhooks {
  constructor(
    private readonly repo: WebhooksRepo,
    private readonly config: Config,
  ) {}

  /** The answer carries the signing secret: the only time it leaves the server. */
  async create(tenantId: string, request: CreateWebhookRequest): Promise<WebhookCreated> {
    const eventTypes = eventTypesOf(request.event_types);
    const url = checkWebhookUrl(request.url, this.config.WEBHOOK_ALLOW_PRIVATE_TARGETS);
    if (!url.ok)
      throw new InvalidInputError(
        `webhook url refused: ${url.reason}`,
        [{ path: 'url', message: url.reason }],
        url.code,
      );
    return this.repo.create(tenantId, { ...request, url: url.url.href, event_types: eventTypes });
  }

  list(tenantId: string): Promise<WebhookView[]> {
    return this.repo.list(tenantId);
  }

  async get(tenantId: string, id: string): Promise<WebhookView> {
    const webhook = await this.repo.get(tenantId, id);
    if (!webhook) throw notFound(id);
    return webhook;
  }

  async delete(tenantId: string, id: string): Promise<void> {
    if (!(await this.repo.delete(tenantId, id))) throw notFound(id);
  }

  async deliveries(tenantId: string, id: string, query: DeliveriesQuery) {
    await this.get(tenantId, id);
    try {
      return await this.repo.deliveries(tenantId, id, query);
    } catch (err) {
      if (err instanceof InvalidPageToken)
        throw new InvalidInputError(err.message, [{ path: 'page_token', message: err.message }], 'invalid_page_token');
      throw err;
    }
  }

  /** A `ping` sent now, once, from the API: checks the receiver and its signature check without waiting for an event. */
  async test(tenantId: string, id: string): Promise<WebhookTestResult> {
    const target = await this.repo.target(tenantId, id);
    if (!target) throw notFound(id);
    const ping: WebhookEventBody = {
      id: `ping_${randomBytes(8).toString('hex')}`,
      type: 'ping',
      created_at: new Date().toISOString(),
      function_name: null,
      run: null,
      data: { webhook_id: id },
    };
    const deliveryId = `dlv_${randomBytes(12).toString('hex')}`;
    const sent = await sendWebhook({
      url: target.url,
      secret: target.secret,
      eventType: ping.type,
      deliveryId,
      attempt: 1,
      body: JSON.stringify(ping),
      timeoutMs: this.config.WEBHOOK_TIMEOUT_MS,
      allowPrivate: this.config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    });
    await this.repo.recordAttempt(
      tenantId,
      id,
      attemptRecord(
        { delivery_id: deliveryId, event_id: null, event_type: ping.type, attempt: 1, will_retry: false },
        sent,
      ),
    );
    return {
      delivery_id: deliveryId,
      outcome: sent.outcome,
      status_code: sent.status_code,
      error: sent.error,
      duration_ms: sent.duration_ms,
    };
  }
}
