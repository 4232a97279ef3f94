import path from 'node:path';

/** Typed service configuration, parsed once from the environment at start-up. */
export interface Config {
  readonly http: {
    readonly host: string;
    readonly port: number;
    /**
     * Base of the URLs written onto Image nodes, so a person in Neo4j Browser can open them.
     * Null when the port is chosen by the OS (0): the app derives it once it listens.
     */
    readonly publicBaseUrl: string | null;
    /** Upper bound for a JSON request body (data URLs travel inside it). */
    readonly maxRequestBytes: number;
  };
  readonly neo4j: {
    readonly uri: string;
    readonly user: string;
    readonly password: string;
    readonly database: string;
    /** Connecting, acquiring a pooled connection and retrying a transaction each give up after this. */
    readonly timeoutMs: number;
    /** Connections per Neo4j server this process may hold (the driver's pool). */
    readonly maxPoolSize: number;
  };
  readonly auth: {
    /** Requests without a key may run queries (never mutations). Off: every request needs a key. */
    readonly anonymousRead: boolean;
    /** How long a verified key is trusted before it is looked up again (a revocation waits this long). */
    readonly keyCacheMs: number;
  };
  /** Where image bytes live (issue 15): the folder `images.storeDir` (default) or an S3 bucket. */
  readonly imageStore: {
    readonly backend: 'local' | 's3';
    readonly s3: S3Settings;
    /**
     * How GET /images/:sha256 answers: the bytes streamed through the service, or (S3 only) a
     * redirect to a presigned URL of the bucket, so the bytes bypass the service.
     */
    readonly serve: 'stream' | 'redirect';
  };
  readonly images: {
    /** The local store's folder (used when `imageStore.backend` is local). */
    readonly storeDir: string;
    readonly maxBytes: number;
    /** Decoded pixels, all frames of an animated or multi-page image together. */
    readonly maxPixels: number;
    readonly maxSide: number;
    readonly svg: 'rasterize' | 'refuse';
    readonly maxSvgPixels: number;
    readonly decodeTimeoutMs: number;
    readonly maxPerEntity: number;
  };
  readonly models: {
    /** Off runs without encoders: BM25 and rules only, vectors computed later by reencode. */
    readonly enabled: boolean;
    readonly bundleDir: string;
    readonly executionProvider: 'cpu' | 'cuda';
    /** Where scripts/setup-cuda.sh assembled the CUDA runtime; read only for `cuda`. */
    readonly cudaDir: string;
    /** 0 lets ONNX Runtime use one thread per core. */
    readonly intraOpThreads: number;
    readonly interOpThreads: number;
    /** Idle ONNX Runtime threads spin-wait (faster alone on dedicated cores; slower shared). */
    readonly spinning: boolean;
    /**
     * vision: the image-side models (image encoder and robust head, detector, faces, OCR) run in
     * one worker thread, beside the text side and the event loop; off (default): every model on
     * the event loop's thread. Off because it gained nothing on the shared 2-core machine (README,
     * Performance). CPU only (CUDA keeps every session in process).
     */
    readonly onnxWorkers: 'off' | 'vision';
    /** Entities whose linker candidate vector `linkImage` keeps in process (0: none). */
    readonly candidateVectorCache: number;
  };
  /** Dense retrieval (k-NN over text and image vectors): where it runs (issue 13). */
  readonly vectors: {
    /**
     * memory: exact search over an in-process copy of the vectors (src/vectors/), kept current
     * by polling the graph's change watermark; neo4j (default): Neo4j's vector indexes (HNSW
     * over int8-quantized vectors, approximate).
     */
    readonly search: 'memory' | 'neo4j';
    /** How often a replica looks for other replicas' vector writes (ms); its own apply at once. */
    readonly pollMs: number;
    /** Entities per page when loading the in-process index at start-up. */
    readonly loadPageSize: number;
  };
  readonly linking: {
    /**
     * How `linkImage` resolves overlapping detected mentions (src/linking/mentions.ts). Default
     * longest-first: better exact-span P and R on the dev split with the KB's gazetteer.
     */
    readonly mentionOverlap: 'source-first' | 'longest-first';
    /**
     * Regions `linkImage` proposes at most when none are given (src/linking/regions.ts). 10, not
     * 5, chosen on dev (issue 12): proposal recall 73.7 -> 81.9 on the held-out Wesnoth scenes and
     * 64.8 -> 67.6 on the in-house dev split, automatic-mode F1 58.6 -> 58.8 there, p50 +10%.
     */
    readonly maxProposedRegions: number;
    /**
     * Whether those proposals include the class-agnostic CONTRAST boxes
     * (src/linking/contrast-regions.ts) beside the detector's, the faces and the text lines.
     */
    readonly contrastProposals: boolean;
    /**
     * The OCR detector's input is enlarged until its shorter side reaches this (the bundle's
     * `detMinSideLen`, 736 in the default bundle, applies elsewhere) when proposing regions.
     * The detector is two thirds of the proposals' time at 960x480, and most query images are
     * 640x320; 320 reads them at their own size (EVAL.md, "The whole service").
     */
    readonly proposalOcrMinSide: number;
  };
  readonly limits: {
    readonly maxBatchSize: number;
    readonly maxPageSize: number;
    readonly maxCandidates: number;
    /** GraphQL document limits, checked before anything runs (QUERY_TOO_COMPLEX). */
    readonly maxDepth: number;
    readonly maxAliases: number;
    readonly maxDirectives: number;
    readonly maxTokens: number;
    /** Estimated cost: fields weigh 1, lists multiply by their page size, linkImage and candidates weigh more. */
    readonly maxCost: number;
    readonly maxLinkImagePerRequest: number;
    /** Wall-clock budget of one request: then its work is cancelled and nothing more is written. */
    readonly requestTimeoutMs: number;
    /** Per key (per client address without a key), per minute; 0: no limit. */
    readonly linkImagePerMinute: number;
    readonly registrationsPerMinute: number;
  };
  /**
   * Serve GET /metrics (Prometheus text format) on the service's port. It carries counts, timings
   * and sizes under bounded labels (operation names, error codes, stages), no ids, keys or content.
   */
  readonly metrics: boolean;
  /** The page at `/` (web/) and the Neo4j Browser guide at `/browser-guide`. */
  readonly web: {
    /** Where the page's "open in Neo4j Browser" links point (the Browser's own URL). */
    readonly neo4jBrowserUrl: string;
  };
  /** Apply pending migrations from db/migrations when the service starts. */
  readonly migrateOnStart: boolean;
  readonly logLevel: string;
  /**
   * Only NODE_ENV=development adds stack traces to errors and turns on introspection and the Apollo
   * landing page; anything else (unset included) is production.
   */
  readonly isDevelopment: boolean;
  /** Schema introspection in production (always on in development). */
  readonly introspection: boolean;
}

/** The S3 image store (issue 15); read even when the local store is in use, checked only when not. */
export interface S3Settings {
  readonly bucket: string;
  /** Prepended to every key: empty, or ending in "/". */
  readonly prefix: string;
  /** Null: AWS's endpoint for the region; set for SeaweedFS, MinIO, R2 and the like. */
  readonly endpoint: string | null;
  readonly region: string;
  /** Null: the AWS SDK's default credential chain (AWS_* variables, profiles, instance roles). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | null;
  /** `endpoint/bucket/key` addressing, which self-hosted servers need. */
  readonly forcePathStyle: boolean;
  /** Lifetime of the presigned URLs of POLYLINK_IMAGE_SERVE=redirect. */
  readonly presignSeconds: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

function readString(env: Env, key: string, fallback: string): string {
  const value = env[key]?.trim();
  return value === undefined || value === '' ? fallback : value;
}

function readInteger(
  env: Env,
  key: string,
  fallback: number,
  [min, max]: readonly [number, number],
): number {
  const raw = env[key]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${key} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(`${key} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function readBoolean(env: Env, key: string, fallback: boolean): boolean {
  const raw = env[key]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${key} must be true or false, got "${raw}"`);
}

function readChoice<const T extends string>(
  env: Env,
  key: string,
  fallback: T,
  choices: readonly T[],
): T {
  const value = readString(env, key, fallback).toLowerCase();
  if (!(choices as readonly string[]).includes(value)) {
    throw new ConfigError(`${key} must be one of ${choices.join(', ')}, got "${value}"`);
  }
  return value as T;
}

function readUrl(env: Env, key: string, fallback: string, protocols: readonly string[]): string {
  const value = readString(env, key, fallback);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${key} is not a valid URL: "${value}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${key} must use one of ${protocols.join(', ')}, got "${url.protocol}"`);
  }
  return value.replace(/\/+$/, '');
}

const NEO4J_PROTOCOLS = ['bolt:', 'bolt+s:', 'bolt+ssc:', 'neo4j:', 'neo4j+s:', 'neo4j+ssc:'];

/** `http://host:port`, with an IPv6 host in brackets and wildcard hosts shown as loopback. */
export function httpOrigin(host: string, port: number): string {
  // A dual-stack wildcard also answers on IPv4 loopback.
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child as object);
  }
  return Object.freeze(value);
}

function readS3Settings(env: Env): S3Settings {
  const endpoint = readString(env, 'POLYLINK_S3_ENDPOINT', '');
  const accessKeyId = readString(env, 'POLYLINK_S3_ACCESS_KEY_ID', '');
  const secretAccessKey = env.POLYLINK_S3_SECRET_ACCESS_KEY ?? '';
  if ((accessKeyId === '') !== (secretAccessKey === '')) {
    throw new ConfigError(
      'POLYLINK_S3_ACCESS_KEY_ID and POLYLINK_S3_SECRET_ACCESS_KEY go together: set both or neither',
    );
  }
  const prefix = readString(env, 'POLYLINK_S3_PREFIX', 'images/').replace(/^\/+/, '');
  return {
    bucket: readString(env, 'POLYLINK_S3_BUCKET', ''),
    prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    endpoint:
      endpoint === '' ? null : readUrl(env, 'POLYLINK_S3_ENDPOINT', '', ['http:', 'https:']),
    region: readString(env, 'POLYLINK_S3_REGION', 'us-east-1'),
    credentials: accessKeyId === '' ? null : { accessKeyId, secretAccessKey },
    forcePathStyle: readBoolean(env, 'POLYLINK_S3_PATH_STYLE', false),
    presignSeconds: readInteger(env, 'POLYLINK_S3_PRESIGN_SECONDS', 300, [1, 604_800]),
  };
}

/** Parses and validates the environment; throws a ConfigError that names the offending variable. */
export function parseConfig(env: Env, cwd: string = process.cwd()): Config {
  const host = readString(env, 'POLYLINK_HOST', '127.0.0.1');
  const port = readInteger(env, 'POLYLINK_PORT', 4000, [0, 65535]);
  const publicUrlGiven = readString(env, 'POLYLINK_PUBLIC_URL', '') !== '';
  const config: Config = {
    http: {
      host,
      port,
      publicBaseUrl:
        port === 0 && !publicUrlGiven
          ? null
          : readUrl(env, 'POLYLINK_PUBLIC_URL', httpOrigin(host, port), ['http:', 'https:']),
      maxRequestBytes: readInteger(env, 'POLYLINK_MAX_REQUEST_BYTES', 64 * 1024 * 1024, [
        1024,
        2 ** 31,
      ]),
    },
    neo4j: {
      uri: readUrl(env, 'NEO4J_URI', 'bolt://127.0.0.1:7687', NEO4J_PROTOCOLS),
      user: readString(env, 'NEO4J_USER', 'neo4j'),
      password: env.NEO4J_PASSWORD ?? '',
      database: readString(env, 'NEO4J_DATABASE', 'neo4j'),
      timeoutMs: readInteger(env, 'NEO4J_TIMEOUT_MS', 5000, [100, 600_000]),
      // The driver's own default.
      maxPoolSize: readInteger(env, 'NEO4J_MAX_POOL_SIZE', 100, [1, 10_000]),
    },
    auth: {
      anonymousRead: readBoolean(env, 'POLYLINK_ANONYMOUS_READ', false),
      keyCacheMs: readInteger(env, 'POLYLINK_API_KEY_CACHE_MS', 10_000, [0, 3_600_000]),
    },
    imageStore: {
      backend: readChoice(env, 'POLYLINK_IMAGE_STORE', 'local', ['local', 's3'] as const),
      s3: readS3Settings(env),
      serve: readChoice(env, 'POLYLINK_IMAGE_SERVE', 'stream', ['stream', 'redirect'] as const),
    },
    images: {
      storeDir: path.resolve(cwd, readString(env, 'POLYLINK_IMAGE_DIR', 'var/images')),
      maxBytes: readInteger(env, 'POLYLINK_MAX_IMAGE_BYTES', 20 * 1024 * 1024, [
        1024,
        512 * 1024 * 1024,
      ]),
      // 40 MP: every 12-24 MP camera photo and 7300x5470 pass, the 49 MP 7000x7000 PNG of 6 KB
      // (the #11 decompression bomb) does not. Decoding is ~120 MB of RGB per request at the limit.
      maxPixels: readInteger(env, 'POLYLINK_MAX_IMAGE_PIXELS', 40_000_000, [1, 1_000_000_000]),
      // 16384 is WebP's and most GPU textures' bound and 8x a 2048-pixel panorama's height; the
      // models look at 224-1024 pixels. libvips itself stops at 10,000,000 (calls it corrupt).
      maxSide: readInteger(env, 'POLYLINK_MAX_IMAGE_SIDE', 16_384, [1, 10_000_000]),
      svg: readChoice(env, 'POLYLINK_SVG', 'rasterize', ['rasterize', 'refuse'] as const),
      maxSvgPixels: readInteger(env, 'POLYLINK_MAX_SVG_PIXELS', 4_000_000, [1, 1_000_000_000]),
      decodeTimeoutMs: readInteger(env, 'POLYLINK_IMAGE_DECODE_TIMEOUT_MS', 10_000, [1, 3_600_000]),
      maxPerEntity: readInteger(env, 'POLYLINK_MAX_IMAGES_PER_ENTITY', 16, [1, 256]),
    },
    models: {
      enabled: readBoolean(env, 'POLYLINK_MODELS', true),
      bundleDir: path.resolve(
        cwd,
        readString(env, 'POLYLINK_MODEL_DIR', 'var/models/polylink-default'),
      ),
      executionProvider: readChoice(env, 'POLYLINK_EXECUTION_PROVIDER', 'cpu', [
        'cpu',
        'cuda',
      ] as const),
      cudaDir: path.resolve(cwd, readString(env, 'POLYLINK_CUDA_DIR', 'var/cuda')),
      intraOpThreads: readInteger(env, 'POLYLINK_INTRA_OP_THREADS', 0, [0, 256]),
      interOpThreads: readInteger(env, 'POLYLINK_INTER_OP_THREADS', 1, [1, 256]),
      spinning: readBoolean(env, 'POLYLINK_ONNX_SPINNING', false),
      onnxWorkers: readChoice(env, 'POLYLINK_ONNX_WORKERS', 'off', ['off', 'vision'] as const),
      candidateVectorCache: readInteger(
        env,
        'POLYLINK_CANDIDATE_VECTOR_CACHE',
        100_000,
        [0, 10_000_000],
      ),
    },
    vectors: {
      // neo4j until memory is shown equal or better in quality too: exact cosines flip 10 of 1,744
      // V&T-KG and 51 of 1,738 V-T-KG test predictions, F1 -0.2 and -0.4 (within the CIs), because
      // the linker reads the dense cosines, which Neo4j quantizes (bench/results/vector-modes-test-eval.json).
      search: readChoice(env, 'POLYLINK_VECTOR_SEARCH', 'neo4j', ['memory', 'neo4j'] as const),
      pollMs: readInteger(env, 'POLYLINK_VECTOR_POLL_MS', 1000, [0, 3_600_000]),
      loadPageSize: readInteger(env, 'POLYLINK_VECTOR_LOAD_PAGE', 500, [1, 100_000]),
    },
    linking: {
      mentionOverlap: readChoice(env, 'POLYLINK_MENTION_OVERLAP', 'longest-first', [
        'source-first',
        'longest-first',
      ] as const),
      maxProposedRegions: readInteger(env, 'POLYLINK_MAX_PROPOSED_REGIONS', 10, [1, 50]),
      contrastProposals: readBoolean(env, 'POLYLINK_CONTRAST_PROPOSALS', true),
      proposalOcrMinSide: readInteger(env, 'POLYLINK_PROPOSAL_OCR_MIN_SIDE', 320, [0, 4096]),
    },
    limits: {
      maxBatchSize: readInteger(env, 'POLYLINK_MAX_BATCH', 100, [1, 10_000]),
      maxPageSize: readInteger(env, 'POLYLINK_MAX_PAGE', 200, [1, 10_000]),
      maxCandidates: readInteger(env, 'POLYLINK_MAX_CANDIDATES', 100, [1, 10_000]),
      maxDepth: readInteger(env, 'POLYLINK_MAX_DEPTH', 10, [2, 100]),
      maxAliases: readInteger(env, 'POLYLINK_MAX_ALIASES', 20, [0, 10_000]),
      maxDirectives: readInteger(env, 'POLYLINK_MAX_DIRECTIVES', 10, [0, 10_000]),
      maxTokens: readInteger(env, 'POLYLINK_MAX_TOKENS', 2000, [50, 1_000_000]),
      maxCost: readInteger(env, 'POLYLINK_MAX_COST', 20_000, [1, 100_000_000]),
      maxLinkImagePerRequest: readInteger(env, 'POLYLINK_MAX_LINK_IMAGE_PER_REQUEST', 4, [1, 1000]),
      requestTimeoutMs: readInteger(env, 'POLYLINK_REQUEST_TIMEOUT_MS', 60_000, [100, 3_600_000]),
      linkImagePerMinute: readInteger(env, 'POLYLINK_RATE_LINK_IMAGE', 120, [0, 1_000_000]),
      registrationsPerMinute: readInteger(
        env,
        'POLYLINK_RATE_REGISTRATIONS',
        1200,
        [0, 10_000_000],
      ),
    },
    metrics: readBoolean(env, 'POLYLINK_METRICS', true),
    web: {
      neo4jBrowserUrl: readUrl(env, 'POLYLINK_NEO4J_BROWSER_URL', 'http://127.0.0.1:7474/browser', [
        'http:',
        'https:',
      ]),
    },
    migrateOnStart: readBoolean(env, 'POLYLINK_MIGRATE_ON_START', true),
    logLevel: readString(env, 'LOG_LEVEL', 'info'),
    isDevelopment: readString(env, 'NODE_ENV', 'production') === 'development',
    introspection: readBoolean(env, 'POLYLINK_INTROSPECTION', false),
  };
  if (config.imageStore.backend === 's3' && config.imageStore.s3.bucket === '') {
    throw new ConfigError('POLYLINK_S3_BUCKET is required when POLYLINK_IMAGE_STORE=s3');
  }
  if (config.imageStore.serve === 'redirect' && config.imageStore.backend !== 's3') {
    throw new ConfigError('POLYLINK_IMAGE_SERVE=redirect needs POLYLINK_IMAGE_STORE=s3');
  }
  const validLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!validLevels.includes(config.logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${validLevels.join(', ')}`);
  }
  return deepFreeze(config);
}
