import path from 'node:path';
import { z } from 'zod';
import { route, text } from '../route';
import { sendFileFrom } from '../send-file';

const NO_CACHE = { headers: { 'cache-control': 'no-cache' } };

/**
 * `/dashboard`: the operator dashboard, static files from public/dashboard (no build step, no CDN). The files are
 * public; the page asks for an API key and reads everything through the authenticated JSON routes.
 */
export const dashboardRoutes = [
  route({
    operationId: 'getDashboard',
    method: 'GET',
    path: '/dashboard',
    tags: ['observability'],
    summary: 'Operator dashboard (signs in with an API key)',
    auth: 'public',
    responses: { 200: text(['text/html'], 'HTML page') },
    errors: [412, 416],
    handler: ({ res }, deps) =>
      sendFileFrom(
        res,
        path.join(deps.config.rootDir, 'public', 'dashboard'),
        'index.html',
        'dashboard file',
        NO_CACHE,
      ),
  }),
  route({
    operationId: 'getDashboardFile',
    method: 'GET',
    path: '/dashboard/:file',
    tags: ['observability'],
    summary: 'Script and style sheet of the dashboard',
    auth: 'public',
    params: z.object({ file: z.string() }),
    responses: { 200: text(['text/javascript', 'text/css'], 'The file') },
    errors: [404, 412, 416],
    handler: ({ params, res }, deps) =>
      sendFileFrom(res, path.join(deps.config.rootDir, 'public', 'dashboard'), params.file, 'dashboard file', NO_CACHE),
  }),
];
