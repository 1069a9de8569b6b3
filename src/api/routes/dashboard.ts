import path from 'node:path';
import { Router } from 'express';
import { NotFoundError } from '../errors';

/**
 * `/dashboard`: the operator dashboard, static files from public/dashboard (no build step, no CDN). The files are
 * public; the page asks for an API key and reads everything through the authenticated JSON routes.
 */
export function dashboardRouter(rootDir: string): Router {
  const router = Router();
  const root = path.join(rootDir, 'public', 'dashboard');
  router.get('/dashboard', (_req, res, next) => {
    res.sendFile('index.html', { root, headers: { 'cache-control': 'no-cache' } }, (err) => {
      if (err) next(err);
    });
  });
  // A route rather than express.static, so the route tables (auth, OpenAPI) see it; `root` keeps it inside the folder.
  router.get('/dashboard/:file', (req, res, next) => {
    res.sendFile(req.params.file, { root, dotfiles: 'deny', headers: { 'cache-control': 'no-cache' } }, (err) => {
      if (err) next(new NotFoundError('not_found', `no dashboard file ${req.params.file}`));
    });
  });
  return router;
}
