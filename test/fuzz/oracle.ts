/**
 * Sends one fuzz input to a running service and judges the answer (issue 11). The oracle holds
 * for every input: an answer within the budget, a JSON body, every error with a documented
 * `extensions.code`, no stack trace or server path in the body, /healthz still answering, RSS
 * under its bound, and refusals where a key is missing, wrong or only allowed to read.
 */
import { DOCUMENTED_ERROR_CODES } from '../../src/errors.js';
import type { FuzzInput } from './arbitraries.js';

/** The one documented set (src/errors.ts); anything else in `extensions.code` is a failure. */
export const DOCUMENTED_CODES: ReadonlySet<string> = new Set(DOCUMENTED_ERROR_CODES);

/** Things that must never reach a client: stack frames, server paths, the stacktrace extension. */
const LEAKS: readonly [string, RegExp][] = [
  ['stack-frame', /\n\s+at |\bat (?:async )?[\w$.<>[\] ]+ \((?:file:|node:|\/)/],
  ['server-path', /\/work\/|\/home\/|\/root\/|\/tmp\/polylink/],
  ['node_modules', /node_modules/],
  ['file-url', /file:\/\/\//],
  ['stacktrace-extension', /"stacktrace"\s*:/],
];

export interface Target {
  readonly baseUrl: string;
  /** Keys per role; null where the service has no keys (before API keys landed). */
  readonly keys: { readonly admin: string | null; readonly read: string | null };
  /** Whether the service is expected to refuse requests without a valid key. */
  readonly authEnforced: boolean;
  readonly budgetMs: number;
  readonly maxRssKiB: number;
  rssKiB(): number | null;
}

export interface Verdict {
  readonly status: number;
  readonly ms: number;
  readonly codes: readonly string[];
  readonly failures: readonly string[];
  /** Passing but worth a look: INTERNAL_SERVER_ERROR, 5xx. */
  readonly notes: readonly string[];
  readonly rssKiB: number | null;
}

const WRONG_KEY = 'pl_wrongwrongwrongwrongwrongwrongwrong00';

function authHeader(target: Target, auth: FuzzInput['auth']): Record<string, string> {
  const key =
    auth === 'admin'
      ? target.keys.admin
      : auth === 'read'
        ? target.keys.read
        : auth === 'wrong'
          ? WRONG_KEY
          : null;
  return key === null ? {} : { authorization: `Bearer ${key}` };
}

const IMAGE_DOCS = {
  registerEntity:
    'mutation($in: EntityInput!) { registerEntity(input: $in) { status entity { id images { sha256 format width height } } } }',
  linkImage:
    'mutation($in: LinkImageInput!) { linkImage(input: $in) { image { sha256 width height } triples { nil } } }',
  candidates:
    'query($image: ImageInput) { candidates(image: $image, limit: 3) { score entity { id } } }',
} as const;

interface Prepared {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | FormData | null;
}

function prepare(target: Target, input: FuzzInput): Prepared {
  const auth = authHeader(target, input.auth);
  switch (input.kind) {
    case 'graphql': {
      const payload: Record<string, unknown> = { query: input.query, variables: input.variables };
      if ('operationName' in input) payload.operationName = input.operationName;
      if (input.method === 'GET') {
        const params = new URLSearchParams({ query: input.query });
        params.set('variables', JSON.stringify(input.variables) ?? '');
        return {
          method: 'GET',
          path: `/graphql?${params.toString()}`,
          headers: { ...auth, 'apollo-require-preflight': 'true' },
          body: null,
        };
      }
      return {
        method: 'POST',
        path: '/graphql',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      };
    }
    case 'image': {
      const dataUrl = `data:${input.mime ?? ''};base64,${Buffer.from(input.bytes).toString('base64')}`;
      const image = input.transport === 'dataUrl' ? { dataUrl } : { upload: null };
      const uploadPath =
        input.target === 'registerEntity'
          ? 'variables.in.images.0.upload'
          : input.target === 'linkImage'
            ? 'variables.in.image.upload'
            : 'variables.image.upload';
      const variables =
        input.target === 'registerEntity'
          ? { in: { id: input.id, name: 'Fuzz Image Entity', images: [image] } }
          : input.target === 'linkImage'
            ? {
                in: {
                  image,
                  caption: 'A picture.',
                  mentions: [],
                  regions: [{ x: 0, y: 0, width: 8, height: 8 }],
                  candidates: 3,
                },
              }
            : { image };
      const operation = { query: IMAGE_DOCS[input.target], variables };
      if (input.transport === 'dataUrl') {
        return {
          method: 'POST',
          path: '/graphql',
          headers: { ...auth, 'content-type': 'application/json' },
          body: JSON.stringify(operation),
        };
      }
      const form = new FormData();
      form.set('operations', JSON.stringify(operation));
      form.set('map', JSON.stringify({ 0: [uploadPath] }));
      form.set('0', new Blob([input.bytes], { type: input.mime ?? '' }), 'upload.bin');
      const preflight: Record<string, string> =
        input.transport === 'multipart' ? { 'apollo-require-preflight': 'true' } : {};
      return { method: 'POST', path: '/graphql', headers: { ...auth, ...preflight }, body: form };
    }
    case 'raw': {
      const headers: Record<string, string> = { ...auth, ...input.extraHeaders };
      if (input.contentType !== null) headers['content-type'] = input.contentType;
      return { method: input.method, path: input.path, headers, body: input.body };
    }
    case 'auth':
      return {
        method: 'POST',
        path: '/graphql',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ query: input.query, variables: input.variables }),
      };
  }
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

/** Sends the input, then checks the answer, /healthz and RSS. Never throws. */
export async function runInput(target: Target, input: FuzzInput): Promise<Verdict> {
  const request = prepare(target, input);
  const started = performance.now();
  let status = 0;
  let text = '';
  let contentType = '';
  let networkError: string | null = null;
  try {
    const response = await fetch(`${target.baseUrl}${request.path}`, {
      method: request.method,
      headers: request.headers,
      body: request.method === 'GET' ? undefined : request.body,
      signal: AbortSignal.timeout(target.budgetMs),
    });
    status = response.status;
    contentType = response.headers.get('content-type') ?? '';
    text = await response.text();
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    networkError = cause ?? (error instanceof Error ? error.name : 'Error');
  }
  const ms = performance.now() - started;
  const failures: string[] = [];
  const notes: string[] = [];
  const codes: string[] = [];

  if (networkError !== null) {
    failures.push(
      networkError === 'TimeoutError' || networkError === 'AbortError'
        ? `timeout: no answer within ${target.budgetMs} ms`
        : `no-response: ${networkError}`,
    );
  } else {
    if (ms > target.budgetMs) failures.push(`slow: ${Math.round(ms)} ms`);
    const binaryImage = status < 400 && contentType.startsWith('image/');
    const emptyOk = (status === 204 || status === 304) && text === '';
    let body: unknown = undefined;
    if (!binaryImage && !emptyOk) {
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        failures.push(
          `not-json: HTTP ${status} ${contentType.split(';')[0] ?? ''}: ${text.slice(0, 120).replace(/\s+/g, ' ')}`,
        );
      }
    }
    if (!binaryImage) {
      for (const [name, pattern] of LEAKS) {
        const match = pattern.exec(text);
        if (match) {
          const at = Math.max(0, match.index - 40);
          failures.push(`leak:${name}: …${text.slice(at, match.index + 80).replace(/\s+/g, ' ')}…`);
        }
      }
    }
    const isGraphql = request.path.startsWith('/graphql');
    const bodies = Array.isArray(body) ? (body as unknown[]) : body === undefined ? [] : [body];
    for (const one of bodies) {
      if (typeof one !== 'object' || one === null) continue;
      const graphqlBody = one as GraphQLBody;
      for (const error of graphqlBody.errors ?? []) {
        const code = error.extensions?.code;
        if (typeof code !== 'string') failures.push('error-without-code');
        else {
          codes.push(code);
          if (!DOCUMENTED_CODES.has(code)) failures.push(`undocumented-code:${code}`);
          if (code === 'INTERNAL_SERVER_ERROR') notes.push('internal-server-error');
        }
      }
      if (isGraphql && status >= 400 && !(graphqlBody.errors && graphqlBody.errors.length > 0)) {
        failures.push(`error-status-without-errors: HTTP ${status}`);
      }
    }
    if (status >= 500) notes.push(`http-${status}`);
    if (input.kind === 'auth') failures.push(...judgeAuth(target, input, body));
  }

  // The process must still be alive and answering, whatever the input did.
  try {
    const health = await fetch(`${target.baseUrl}/healthz`, { signal: AbortSignal.timeout(5000) });
    if (health.status !== 200) failures.push(`healthz: HTTP ${health.status}`);
    await health.text();
  } catch (error) {
    failures.push(`healthz: ${error instanceof Error ? error.name : 'failed'} (process down?)`);
  }
  const rss = target.rssKiB();
  if (rss !== null && rss > target.maxRssKiB) {
    failures.push(`rss: ${Math.round(rss / 1024)} MiB over ${Math.round(target.maxRssKiB / 1024)}`);
  }
  return { status, ms, codes, failures, notes, rssKiB: rss };
}

function judgeAuth(
  target: Target,
  input: Extract<FuzzInput, { kind: 'auth' }>,
  body: unknown,
): string[] {
  const graphqlBody = (typeof body === 'object' && body !== null ? body : {}) as GraphQLBody;
  const served =
    graphqlBody.data !== null &&
    graphqlBody.data !== undefined &&
    Object.values(graphqlBody.data).some((value) => value !== null);
  const codes = (graphqlBody.errors ?? []).map((error) => error.extensions?.code);
  const who =
    input.auth === 'read' ? 'a read key' : input.auth === 'wrong' ? 'a wrong key' : 'no key';
  if (!target.authEnforced) {
    // Before API keys exist every caller is anonymous: a served request is the finding.
    return served ? [`auth-not-enforced: served ${who.replace('a read key', 'no key')}`] : [];
  }
  const failures: string[] = [];
  if (served) failures.push(`auth-bypass: ${who} was served`);
  if (!codes.includes(input.expected)) {
    failures.push(`auth-code: expected ${input.expected}, got ${codes.join(',') || 'none'}`);
  }
  return failures;
}

/** The category of a verdict's first failure, for counting and for shrinking one kind at a time. */
export function failureCategory(failure: string): string {
  const head = failure.split(':')[0] ?? failure;
  if (head === 'leak' || head === 'undocumented-code') {
    return failure.split(':').slice(0, 2).join(':');
  }
  if (head === 'not-json') return `not-json:${/HTTP (\d+)/.exec(failure)?.[1] ?? '?'}`;
  return head;
}
