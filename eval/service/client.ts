import type { App } from '../../src/app.js';
import { ApiKeyService } from '../../src/auth/api-keys.js';
import { LINK_IMAGE_MUTATION, type LinkImageVariables, type ServiceResult } from './convert.js';

/** One `linkImage` answer over HTTP, with the client-side wall time. */
export interface Answer {
  readonly result: ServiceResult | null;
  readonly error: string | null;
  readonly ms: number;
}

/** Where to send requests, and the key that may call `linkImage`. */
export interface ServiceClient {
  readonly graphqlUrl: string;
  readonly apiKey: string;
}

/** A client of the app with a fresh `link` key, as a user would have one. */
export async function serviceClient(
  app: Pick<App, 'graphqlUrl' | 'backend'>,
  name: string,
): Promise<ServiceClient> {
  const { key } = await new ApiKeyService(app.backend.graph, 0).create('link', name);
  return { graphqlUrl: app.graphqlUrl, apiKey: key };
}

/** One `linkImage` request over HTTP: JSON body, image as a data URL. */
export async function linkImage(client: ServiceClient, input: LinkImageVariables): Promise<Answer> {
  const started = performance.now();
  try {
    const response = await fetch(client.graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${client.apiKey}` },
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
