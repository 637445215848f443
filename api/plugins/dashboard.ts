/** The built React dashboard at `/`, with the SPA fallback and the security headers of every answer. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { errorBody } from '../errors.ts';

export const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  // The app's own scripts, styles and websocket only; inline styles for the chart libraries.
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
} as const;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil</title></head>
<body><h1>Vigil</h1><p>The API is running, but the dashboard has not been built. Run <code>npm run build</code>, then reload.</p>
<p>Health: <a href="/api/health">/api/health</a></p></body></html>
`;

/** On the root instance (not an encapsulated plugin): the headers and the not-found answer apply to every route. */
export async function serveDashboard(app: FastifyInstance, dashboardDir: string | undefined): Promise<void> {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    return payload;
  });

  const root = dashboardDir ? resolve(dashboardDir) : undefined;
  const built = root !== undefined && existsSync(join(root, 'index.html'));
  if (built) {
    // wildcard: false serves the files present at start (a build replaces the folder; restart to pick it up).
    await app.register(fastifyStatic, { root, wildcard: false, index: ['index.html'] });
  } else {
    app.get('/', { schema: { response: { 200: { type: 'string' } } } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
  }

  app.setNotFoundHandler(async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '/';
    const isApi = path === '/api' || path.startsWith('/api/');
    if (!isApi && (request.method === 'GET' || request.method === 'HEAD')) {
      // A client-side route of the SPA (e.g. /alarms): the app's index.html decides what to show.
      if (built) return reply.type('text/html; charset=utf-8').sendFile('index.html');
      return reply.code(404).type('text/html; charset=utf-8').send(NOT_BUILT);
    }
    return reply.code(404).send(errorBody('VIGIL_ERR_NOT_FOUND', `no route ${request.method} ${path}`));
  });
}
