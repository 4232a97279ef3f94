// The page's GraphQL client: JSON requests, and GraphQL multipart requests (the community spec
// graphql-upload reads) for files. XMLHttpRequest rather than fetch: it reports upload progress.

const KEY_STORAGE = 'polylink.apiKey';

/** What a human is told for each of the API's error codes (schema.graphql lists them). */
const SENTENCES = {
  BAD_USER_INPUT: 'Something in the request is not valid.',
  INVALID_IMAGE: 'The file is not an image the service can decode, or not the type it claims.',
  UNSUPPORTED_IMAGE_FORMAT: 'The service does not accept images in this format.',
  IMAGE_TOO_LARGE: 'The image is over the service’s size, pixel or decoding-time limit.',
  NOT_FOUND: 'No such entity or image.',
  CONFLICT: 'An entity with this id already exists with other content.',
  DATABASE_UNAVAILABLE: 'Neo4j cannot be reached; try again shortly.',
  INFERENCE_FAILED: 'A model could not be loaded or run.',
  UNAUTHENTICATED: 'This service needs an API key: paste one in the key field above.',
  FORBIDDEN: 'Your API key’s role does not allow this.',
  RATE_LIMITED: 'Too many requests with this key for now.',
  QUERY_TOO_COMPLEX: 'The request asks for too much at once.',
  REQUEST_TIMEOUT: 'The request took longer than the service allows; nothing more was written.',
  PAYLOAD_TOO_LARGE: 'The upload is over the service’s size limit.',
  SERVICE_UNAVAILABLE: 'The service is still starting; try again shortly.',
  INTERNAL_SERVER_ERROR: 'Something unexpected went wrong in the service.',
  GRAPHQL_PARSE_FAILED: 'The page sent a malformed request.',
  GRAPHQL_VALIDATION_FAILED: 'The page sent a request the schema does not accept.',
  BAD_REQUEST: 'The page sent a malformed request.',
  NETWORK_ERROR: 'The service could not be reached.',
  BAD_RESPONSE: 'The service answered something that is not GraphQL.',
};

export class ApiError extends Error {
  constructor(code, message, extensions = {}) {
    super(message);
    this.code = code;
    this.extensions = extensions;
  }

  /** `CODE: sentence (the service's own message)`. */
  describe() {
    const sentence = SENTENCES[this.code] ?? 'The request failed.';
    const details = [this.message];
    if (this.extensions.field) details.push(`field ${this.extensions.field}`);
    if (this.extensions.retryAfterSeconds)
      details.push(`retry in ${this.extensions.retryAfterSeconds} s`);
    return `${this.code}: ${sentence} (${details.filter(Boolean).join('; ')})`;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/**
 * Runs one operation. `files` maps variable paths (`input.image.upload`) to Blobs: then the
 * request is multipart, with the CSRF preflight header Apollo asks of multipart requests.
 * `onProgress({ phase, loaded, total })`: phase `upload` while the body goes out, then `wait`.
 */
export function graphql(query, variables = {}, { files = {}, onProgress = () => {} } = {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/graphql');
    const key = storedKey();
    if (key) request.setRequestHeader('Authorization', `Bearer ${key}`);
    let body;
    const paths = Object.keys(files);
    if (paths.length > 0) {
      const form = new FormData();
      form.set('operations', JSON.stringify({ query, variables }));
      form.set(
        'map',
        JSON.stringify(
          Object.fromEntries(paths.map((path, index) => [index, [`variables.${path}`]])),
        ),
      );
      paths.forEach((path, index) =>
        form.set(String(index), files[path], files[path].name ?? 'image'),
      );
      request.setRequestHeader('Apollo-Require-Preflight', 'true');
      body = form;
    } else {
      request.setRequestHeader('Content-Type', 'application/json');
      body = JSON.stringify({ query, variables });
    }
    request.upload.onprogress = (event) =>
      onProgress({
        phase: 'upload',
        loaded: event.loaded,
        total: event.lengthComputable ? event.total : 0,
      });
    request.upload.onload = () => onProgress({ phase: 'wait', loaded: 0, total: 0 });
    request.onerror = () => reject(new ApiError('NETWORK_ERROR', 'no answer'));
    request.onload = () => {
      let answer;
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        reject(new ApiError('BAD_RESPONSE', `HTTP ${request.status}`));
        return;
      }
      const first = answer.errors?.[0];
      if (first) {
        const { code = 'INTERNAL_SERVER_ERROR', ...extensions } = first.extensions ?? {};
        reject(new ApiError(code, first.message, extensions));
        return;
      }
      resolve(answer.data);
    };
    onProgress({ phase: paths.length > 0 ? 'upload' : 'wait', loaded: 0, total: 0 });
    request.send(body);
  });
}
