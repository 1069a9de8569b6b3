import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { Config } from '../../config';
import { EventType } from '../../contracts/events';
import { CreateWebhookRequest, DeliveriesQuery, WebhookId } from '../../contracts/webhooks';
import { InvalidPageToken } from '../../infra/db/events-repo';
import { checkWebhookUrl, sendWebhook } from '../../infra/events/webhook-http';
import { attemptRecord, type WebhookEventBody, type WebhooksRepo } from '../../infra/db/webhooks-repo';
import { setAuditTarget } from '../auth-audit';
import { BadRequestError, NotFoundError, zodDetails } from '../errors';
import { principalOf, requireRole } from '../principal';

const EVENT_TYPES: readonly string[] = EventType.options;

const tenantOf = (res: Response) => principalOf(res).tenantId;

function idParam(req: Request): string {
  const id = WebhookId.safeParse(req.params.id);
  if (!id.success) throw new BadRequestError('malformed webhook id', zodDetails(id.error));
  return id.data;
}

const notFound = (id: string) => new NotFoundError('webhook_not_found', `no webhook ${id}`);

/** The body's event types, each known (or `*`), without repeats; `*` alone stands for all. */
function eventTypesOf(types: string[]): string[] {
  const unknown = types.map((type, i) => ({ type, i })).filter(({ type }) => type !== '*' && !EVENT_TYPES.includes(type));
  if (unknown.length > 0) {
    throw new BadRequestError(
      `unknown event type; valid: ${EVENT_TYPES.join(', ')} or *`,
      unknown.map(({ type, i }) => ({ path: `event_types.${i}`, message: `unknown event type ${JSON.stringify(type)}` })),
      'unknown_event_type',
    );
  }
  return types.includes('*') ? ['*'] : [...new Set(types)];
}

/** Tenant webhooks: operators register and delete them, viewers read them and their delivery log. */
export function webhooksRouter(deps: { config: Config; repo: WebhooksRepo }): Router {
  const { config, repo } = deps;
  const router = Router();

  router.post('/api/v1/webhooks', requireRole('operator'), async (req, res) => {
    const parsed = CreateWebhookRequest.safeParse(req.body);
    if (!parsed.success) throw new BadRequestError('request body does not match the webhook schema', zodDetails(parsed.error));
    const eventTypes = eventTypesOf(parsed.data.event_types);
    const url = checkWebhookUrl(parsed.data.url, config.WEBHOOK_ALLOW_PRIVATE_TARGETS);
    if (!url.ok) throw new BadRequestError(`webhook url refused: ${url.reason}`, [{ path: 'url', message: url.reason }], url.code);
    const created = await repo.create(tenantOf(res), { ...parsed.data, url: url.url.href, event_types: eventTypes });
    setAuditTarget(res, created.id);
    // The only time the signing secret leaves the server.
    res.status(201).location(`/api/v1/webhooks/${created.id}`).json(created);
  });

  router.get('/api/v1/webhooks', async (_req, res) => {
    res.json({ webhooks: await repo.list(tenantOf(res)) });
  });

  router.get('/api/v1/webhooks/:id', async (req, res) => {
    const id = idParam(req);
    const webhook = await repo.get(tenantOf(res), id);
    if (!webhook) throw notFound(id);
    res.json(webhook);
  });

  router.delete('/api/v1/webhooks/:id', requireRole('operator'), async (req, res) => {
    const id = idParam(req);
    if (!(await repo.delete(tenantOf(res), id))) throw notFound(id);
    setAuditTarget(res, id);
    res.status(204).end();
  });

  router.get('/api/v1/webhooks/:id/deliveries', async (req, res) => {
    const id = idParam(req);
    const query = DeliveriesQuery.safeParse(req.query);
    if (!query.success) throw new BadRequestError('invalid delivery log query', zodDetails(query.error));
    if (!(await repo.get(tenantOf(res), id))) throw notFound(id);
    try {
      res.json(await repo.deliveries(tenantOf(res), id, query.data));
    } catch (err) {
      if (err instanceof InvalidPageToken) throw new BadRequestError(err.message, [{ path: 'page_token', message: err.message }], 'invalid_page_token');
      throw err;
    }
  });

  // A `ping` sent now, once, from the API: checks the receiver and its signature check without waiting for an event.
  router.post('/api/v1/webhooks/:id/test', requireRole('operator'), async (req, res) => {
    const id = idParam(req);
    const tenantId = tenantOf(res);
    const target = await repo.target(tenantId, id);
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
      timeoutMs: config.WEBHOOK_TIMEOUT_MS,
      allowPrivate: config.WEBHOOK_ALLOW_PRIVATE_TARGETS,
    });
    await repo.recordAttempt(tenantId, id, attemptRecord({ delivery_id: deliveryId, event_id: null, event_type: ping.type, attempt: 1, will_retry: false }, sent));
    setAuditTarget(res, id);
    res.json({ delivery_id: deliveryId, outcome: sent.outcome, status_code: sent.status_code, error: sent.error, duration_ms: sent.duration_ms });
  });

  return router;
}
