import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { z } from 'zod';
import { openApiDocument } from '../openapi';
import { json, route, text } from '../route';
import { sendFileFrom } from '../send-file';

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>POET enhancement service: API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>
`;

// A file of its own rather than an inline script, so a strict Content-Security-Policy (script-src 'self') allows it.
const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });\n`;

const assets = getAbsoluteFSPath();

/** `/openapi.json` and `/docs`: Swagger UI served from node_modules, so the page works offline (no CDN). */
export const docsRoutes = [
  route({
    operationId: 'getOpenApiDocument',
    method: 'GET',
    path: '/openapi.json',
    tags: ['observability'],
    summary: 'The OpenAPI 3.1 document of this API',
    auth: 'public',
    responses: { 200: json(z.record(z.string(), z.unknown()), 'OpenAPI 3.1 document') },
    handler: (_ctx, deps) => openApiDocument(deps.routes),
  }),
  route({
    operationId: 'getDocsPage',
    method: 'GET',
    path: '/docs',
    tags: ['observability'],
    summary: 'Interactive API documentation (offline)',
    auth: 'public',
    responses: { 200: text(['text/html'], 'HTML page') },
    handler: ({ res }) => {
      res.type('html').send(PAGE);
    },
  }),
  route({
    operationId: 'getDocsScript',
    method: 'GET',
    path: '/docs/init.js',
    tags: ['observability'],
    summary: 'Start-up script of the docs page',
    auth: 'public',
    responses: { 200: text(['application/javascript'], 'Script') },
    handler: ({ res }) => {
      res.type('application/javascript').send(INIT);
    },
  }),
  route({
    operationId: 'getDocsAsset',
    method: 'GET',
    path: '/docs/assets/:file',
    tags: ['observability'],
    summary: 'Swagger UI files of the docs page (from swagger-ui-dist)',
    auth: 'public',
    params: z.object({ file: z.string() }),
    responses: { 200: text(['text/javascript', 'text/css'], 'The file') },
    errors: [404, 412, 416],
    handler: ({ params, res }) => sendFileFrom(res, assets, params.file, 'docs asset', { maxAge: '1d' }),
  }),
];
