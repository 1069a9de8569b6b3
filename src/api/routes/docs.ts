import { Router } from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { NotFoundError } from '../errors';
import { openApiDocument } from '../openapi';

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

/** `/openapi.json` and `/docs`: Swagger UI served from node_modules, so the page works offline (no CDN). */
export function docsRouter(): Router {
  const router = Router();
  const assets = getAbsoluteFSPath();
  router.get('/openapi.json', (_req, res) => {
    res.json(openApiDocument());
  });
  router.get('/docs', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send(INIT);
  });
  // A route rather than express.static, so the route tables (auth, OpenAPI) see it; `root` keeps it inside the package.
  router.get('/docs/assets/:file', (req, res, next) => {
    res.sendFile(req.params.file, { root: assets, dotfiles: 'deny', maxAge: '1d' }, (err) => {
      if (err) next(new NotFoundError('not_found', `no docs asset ${req.params.file}`));
    });
  });
  return router;
}
