import { Router } from 'express';
import { ErrorCode } from '../errors.js';
import type { ImageStore } from '../images/image-store.js';
import { isSha256Hex } from '../images/image-store.js';
import { S3ImageStore } from '../images/s3-image-store.js';
import type { Config } from '../config.js';
import type { EntityQueries } from '../services/entity-queries.js';
import { errorBody } from './json-errors.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * GET /images/:sha256 serves stored bytes, so the `url` on an Image node opens in a browser.
 * Content is immutable by construction (addressed by its hash). With `serve: redirect` (S3 only)
 * the answer is a 302 to a presigned URL of the bucket, and the bytes bypass the service.
 */
export function createImageRouter(deps: {
  readonly store: ImageStore;
  readonly queries: Pick<EntityQueries, 'image'>;
  readonly serve: Config['imageStore']['serve'];
}): Router {
  const { store, queries, serve } = deps;
  const presigning = serve === 'redirect' && store instanceof S3ImageStore ? store : null;
  const router = Router();
  router.get('/images/:sha256', async (request, response, next) => {
    try {
      const sha256 = request.params.sha256.toLowerCase();
      if (!isSha256Hex(sha256)) {
        response.status(400).json(errorBody('Not a sha256 hex digest', ErrorCode.BadUserInput));
        return;
      }
      const image = await queries.image(sha256);
      const notFound = () =>
        response.status(404).json(errorBody('No such image', ErrorCode.NotFound));
      if (!image) {
        notFound();
        return;
      }
      if (presigning) {
        // A presigned URL does not say whether its object exists: check, to answer 404 here.
        if (!(await store.has(sha256))) {
          notFound();
          return;
        }
        const url = await presigning.presignedUrl(sha256, {
          contentType: image.mime,
          cacheControl: IMMUTABLE,
        });
        // The URL expires: the redirect must not be cached for longer than it lives.
        response.set({ 'Cache-Control': 'no-store' }).redirect(302, url);
        return;
      }
      const body = await store.openStream(sha256);
      if (!body) {
        notFound();
        return;
      }
      response.set({
        'Content-Type': image.mime,
        'Content-Length': String(image.byteSize),
        'Cache-Control': IMMUTABLE,
        ETag: `"${sha256}"`,
        'X-Content-Type-Options': 'nosniff',
        // SVG may carry script: never let it run in this origin.
        'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
      });
      if (request.headers['if-none-match'] === `"${sha256}"`) {
        body.destroy();
        response.status(304).end();
        return;
      }
      body.on('error', next).pipe(response);
    } catch (error) {
      next(error);
    }
  });
  return router;
}
