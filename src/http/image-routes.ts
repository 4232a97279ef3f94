import { createReadStream } from 'node:fs';
import { Router } from 'express';
import { ErrorCode } from '../errors.js';
import type { ImageStore } from '../images/image-store.js';
import { isSha256Hex } from '../images/image-store.js';
import type { EntityQueries } from '../services/entity-queries.js';
import { errorBody } from './json-errors.js';

/**
 * GET /images/:sha256 serves stored bytes, so the `url` on an Image node opens in a browser.
 * Content is immutable by construction (addressed by its hash).
 */
export function createImageRouter(
  store: ImageStore,
  queries: Pick<EntityQueries, 'image'>,
): Router {
  const router = Router();
  router.get('/images/:sha256', async (request, response, next) => {
    try {
      const sha256 = request.params.sha256.toLowerCase();
      if (!isSha256Hex(sha256)) {
        response.status(400).json(errorBody('Not a sha256 hex digest', ErrorCode.BadUserInput));
        return;
      }
      const image = await queries.image(sha256);
      if (!image || !(await store.has(sha256))) {
        response.status(404).json(errorBody('No such image', ErrorCode.NotFound));
        return;
      }
      response.set({
        'Content-Type': image.mime,
        'Content-Length': String(image.byteSize),
        'Cache-Control': 'public, max-age=31536000, immutable',
        ETag: `"${sha256}"`,
        'X-Content-Type-Options': 'nosniff',
        // SVG may carry script: never let it run in this origin.
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      });
      if (request.headers['if-none-match'] === `"${sha256}"`) {
        response.status(304).end();
        return;
      }
      createReadStream(store.pathOf(sha256)).on('error', next).pipe(response);
    } catch (error) {
      next(error);
    }
  });
  return router;
}
