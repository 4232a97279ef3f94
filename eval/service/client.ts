import type { App } from '../../src/app.js';
import { LINK_IMAGE_MUTATION, type LinkImageVariables, type ServiceResult } from './convert.js';

/** One `linkImage` answer over HTTP, with the client-side wall time. */
export interface Answer {
  readonly result: ServiceResult | null;
  readonly error: string | null;
  readonly ms: number;
}

/** One `linkImage` request over HTTP: JSON body, image as a data URL. */
export async function linkImage(
  app: Pick<App, 'graphqlUrl'>,
  input: LinkImageVariables,
): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(app.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: LINK_IMAGE_MUTATION, variables: { input } }),
    });
    const body = (await response.json()) as {
      data?: { linkImage?: ServiceResult } | null;
      errors?: { message: string; extensions?: { code?: unknown } }[];
    };
    const ms = performance.now() - started;
    const first = body.errors?.[0];
    if (first || !body.data?.linkImage) {
      const code = typeof first?.extensions?.code === 'string' ? `${first.extensions.code}: ` : '';
      return {
        result: null,
        error: `HTTP ${response.status} ${code}${first?.message ?? 'no data'}`,
        ms,
      };
    }
    return { result: body.data.linkImage, error: null, ms };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { result: null, error: message, ms: performance.now() - started };
  }
}
