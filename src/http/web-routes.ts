import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type RequestHandler, type Response } from 'express';
import { renderBrowserGuide } from './browser-guide.js';

/**
 * The page's assets only come from this origin: no CDN, no inline script, no framing. `blob:` and
 * `data:` images are the picked file and the crops made on the page; `connect-src 'self'` keeps
 * its requests on this service.
 */
export const PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface WebRoutesOptions {
  /** web/: index.html, its ES modules and CSS. */
  readonly webDir: string;
  readonly guideMarkdownFile: string;
  readonly styleFile: string;
  /** This service's public origin, for the guide's links back to it. */
  readonly publicBaseUrl: string;
  readonly neo4jBrowserUrl: string;
}

/** Neo4j Browser fetches guides and styles cross-origin (from its own port): they are public. */
function allowAnyOrigin(response: Response): void {
  response.set('Access-Control-Allow-Origin', '*');
}

/**
 * Browser's fetch sends `pragma` and `cache-control` request headers, which make it a preflighted
 * request: without an answer to the OPTIONS, the guide never loads.
 */
const answerPreflight: RequestHandler = (request, response) => {
  allowAnyOrigin(response);
  response.set({
    'Access-Control-Allow-Methods': 'GET, OPTIONS',
    'Access-Control-Allow-Headers': request.get('access-control-request-headers') ?? '',
    'Access-Control-Max-Age': '600',
  });
  response.status(204).end();
};

/**
 * `/`: the page for people (web/); `/page-config.json`: what the page needs to know about this
 * deployment; `/browser-guide` and `/browser-guide/style.grass`: the Neo4j Browser guide and style.
 */
export function createWebRouter(options: WebRoutesOptions): Router {
  const router = Router();
  router.get('/page-config.json', (_request, response) => {
    response.set('Cache-Control', 'no-cache').json({
      neo4jBrowserUrl: options.neo4jBrowserUrl,
      browserGuideUrl: `${options.publicBaseUrl}/browser-guide`,
    });
  });
  router.options(['/browser-guide', '/browser-guide/style.grass'], answerPreflight);
  router.get('/browser-guide', async (_request, response, next) => {
    try {
      const markdown = await readFile(options.guideMarkdownFile, 'utf8');
      allowAnyOrigin(response);
      response
        .type('html')
        .set('Cache-Control', 'no-cache')
        .send(
          renderBrowserGuide(markdown, {
            style: `${options.publicBaseUrl}/browser-guide/style.grass`,
            page: `${options.publicBaseUrl}/`,
          }),
        );
    } catch (error) {
      next(error);
    }
  });
  router.get('/browser-guide/style.grass', (_request, response, next) => {
    allowAnyOrigin(response);
    response.set('Cache-Control', 'no-cache');
    response.type('text/plain').sendFile(path.resolve(options.styleFile), (error) => {
      if (error) next(error);
    });
  });
  router.use(
    express.static(options.webDir, {
      index: 'index.html',
      // Unknown paths fall through to the JSON 404; dotfiles are never served.
      fallthrough: true,
      dotfiles: 'ignore',
      setHeaders(response) {
        response.set({
          'Content-Security-Policy': PAGE_CONTENT_SECURITY_POLICY,
          'X-Content-Type-Options': 'nosniff',
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-cache',
        });
      },
    }),
  );
  return router;
}
