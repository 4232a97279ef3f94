import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config.js';

const CWD = path.resolve('/srv/polylink');

function configError(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env, CWD);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('parseConfig: defaults', () => {
  it('fills every field from an empty environment', () => {
    expect(parseConfig({}, CWD)).toEqual({
      http: {
        host: '127.0.0.1',
        port: 4000,
        publicBaseUrl: 'http://127.0.0.1:4000',
        maxRequestBytes: 64 * 1024 * 1024,
      },
      neo4j: {
        uri: 'bolt://127.0.0.1:7687',
        user: 'neo4j',
        password: '',
        database: 'neo4j',
        timeoutMs: 5000,
        maxPoolSize: 100,
      },
      auth: { anonymousRead: false, keyCacheMs: 10_000 },
      imageStore: {
        backend: 'local',
        s3: {
          bucket: '',
          prefix: 'images/',
          endpoint: null,
          region: 'us-east-1',
          credentials: null,
          forcePathStyle: false,
          presignSeconds: 300,
        },
        serve: 'stream',
      },
      images: {
        storeDir: path.join(CWD, 'var', 'images'),
        maxBytes: 20 * 1024 * 1024,
        maxPixels: 40_000_000,
        maxSide: 16_384,
        svg: 'rasterize',
        maxSvgPixels: 4_000_000,
        decodeTimeoutMs: 10_000,
        maxPerEntity: 16,
      },
      models: {
        enabled: true,
        bundleDir: path.join(CWD, 'var', 'models', 'polylink-default'),
        executionProvider: 'cpu',
        cudaDir: path.join(CWD, 'var', 'cuda'),
        intraOpThreads: 0,
        interOpThreads: 1,
        spinning: false,
        onnxWorkers: 'off',
        candidateVectorCache: 100_000,
      },
      vectors: { search: 'neo4j', pollMs: 1000, loadPageSize: 500 },
      linking: {
        mentionOverlap: 'longest-first',
        maxProposedRegions: 10,
        contrastProposals: true,
        proposalOcrMinSide: 320,
      },
      limits: {
        maxBatchSize: 100,
        maxPageSize: 200,
        maxCandidates: 100,
        maxDepth: 10,
        maxAliases: 20,
        maxDirectives: 10,
        maxTokens: 2000,
        maxCost: 20_000,
        maxLinkImagePerRequest: 4,
        requestTimeoutMs: 60_000,
        linkImagePerMinute: 120,
        registrationsPerMinute: 1200,
      },
      metrics: true,
      web: { neo4jBrowserUrl: 'http://127.0.0.1:7474/browser' },
      migrateOnStart: true,
      logLevel: 'info',
      // Production unless NODE_ENV says development: no stacks, no introspection, no landing page.
      isDevelopment: false,
      introspection: false,
    });
  });

  it('treats blank values as unset', () => {
    const config = parseConfig({ POLYLINK_PORT: '  ', NEO4J_USER: '', LOG_LEVEL: ' ' }, CWD);
    expect(config.http.port).toBe(4000);
    expect(config.neo4j.user).toBe('neo4j');
    expect(config.logLevel).toBe('info');
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(parseConfig({}, CWD))).toBe(true);
  });
});

describe('parseConfig: models', () => {
  it('reads the model variables', () => {
    const config = parseConfig(
      {
        POLYLINK_MODELS: 'off',
        POLYLINK_MODEL_DIR: 'bundles/mine',
        POLYLINK_EXECUTION_PROVIDER: 'CUDA',
        POLYLINK_CUDA_DIR: '/opt/polylink-cuda',
        POLYLINK_INTRA_OP_THREADS: '2',
        POLYLINK_INTER_OP_THREADS: '2',
        POLYLINK_ONNX_SPINNING: 'true',
        POLYLINK_ONNX_WORKERS: 'vision',
        POLYLINK_CANDIDATE_VECTOR_CACHE: '0',
      },
      CWD,
    );
    expect(config.models).toEqual({
      enabled: false,
      bundleDir: path.join(CWD, 'bundles', 'mine'),
      executionProvider: 'cuda',
      cudaDir: '/opt/polylink-cuda',
      intraOpThreads: 2,
      interOpThreads: 2,
      spinning: true,
      onnxWorkers: 'vision',
      candidateVectorCache: 0,
    });
  });

  it('rejects an unknown execution provider, naming the variable', () => {
    expect(() => parseConfig({ POLYLINK_EXECUTION_PROVIDER: 'tpu' }, CWD)).toThrow(
      /POLYLINK_EXECUTION_PROVIDER/,
    );
  });
});

describe('parseConfig: linking', () => {
  it('reads the mention overlap policy in any case, and rejects another', () => {
    expect(parseConfig({}, CWD).linking.mentionOverlap).toBe('longest-first');
    expect(
      parseConfig({ POLYLINK_MENTION_OVERLAP: 'Source-First' }, CWD).linking.mentionOverlap,
    ).toBe('source-first');
    expect(() => parseConfig({ POLYLINK_MENTION_OVERLAP: 'shortest' }, CWD)).toThrow(
      /POLYLINK_MENTION_OVERLAP/,
    );
  });

  it("reads the proposals' OCR input floor from POLYLINK_PROPOSAL_OCR_MIN_SIDE (default 320)", () => {
    expect(parseConfig({}, CWD).linking.proposalOcrMinSide).toBe(320);
    expect(
      parseConfig({ POLYLINK_PROPOSAL_OCR_MIN_SIDE: '736' }, CWD).linking.proposalOcrMinSide,
    ).toBe(736);
    expect(() => parseConfig({ POLYLINK_PROPOSAL_OCR_MIN_SIDE: '-1' }, CWD)).toThrow(
      /POLYLINK_PROPOSAL_OCR_MIN_SIDE/,
    );
  });

  it('turns the contrast proposals off with POLYLINK_CONTRAST_PROPOSALS=false', () => {
    expect(parseConfig({}, CWD).linking.contrastProposals).toBe(true);
    expect(
      parseConfig({ POLYLINK_CONTRAST_PROPOSALS: 'false' }, CWD).linking.contrastProposals,
    ).toBe(false);
    expect(() => parseConfig({ POLYLINK_CONTRAST_PROPOSALS: 'maybe' }, CWD)).toThrow(
      /POLYLINK_CONTRAST_PROPOSALS/,
    );
  });
});

describe('parseConfig: vectors', () => {
  it('reads where dense retrieval runs and how the in-process index follows the graph', () => {
    const config = parseConfig(
      {
        POLYLINK_VECTOR_SEARCH: 'Memory',
        POLYLINK_VECTOR_POLL_MS: '250',
        POLYLINK_VECTOR_LOAD_PAGE: '64',
      },
      CWD,
    );
    expect(config.vectors).toEqual({ search: 'memory', pollMs: 250, loadPageSize: 64 });
    expect(() => parseConfig({ POLYLINK_VECTOR_SEARCH: 'faiss' }, CWD)).toThrow(
      /POLYLINK_VECTOR_SEARCH/,
    );
    expect(() => parseConfig({ POLYLINK_VECTOR_LOAD_PAGE: '0' }, CWD)).toThrow(
      /POLYLINK_VECTOR_LOAD_PAGE/,
    );
  });
});

describe('parseConfig: each variable', () => {
  it('reads the HTTP, Neo4j, image and limit variables', () => {
    const config = parseConfig(
      {
        POLYLINK_HOST: 'example.internal',
        POLYLINK_PORT: ' 8080 ',
        POLYLINK_PUBLIC_URL: 'https://links.example.com',
        POLYLINK_MAX_REQUEST_BYTES: '2048',
        NEO4J_URI: 'neo4j+s://db.example.com:7687',
        NEO4J_USER: 'linker',
        NEO4J_PASSWORD: ' secret ',
        NEO4J_DATABASE: 'kg',
        POLYLINK_IMAGE_DIR: 'data/img',
        POLYLINK_MAX_IMAGE_BYTES: '4096',
        POLYLINK_MAX_IMAGE_PIXELS: '1000',
        POLYLINK_MAX_IMAGE_SIDE: '500',
        POLYLINK_SVG: 'Refuse',
        POLYLINK_MAX_SVG_PIXELS: '300',
        POLYLINK_IMAGE_DECODE_TIMEOUT_MS: '2500',
        POLYLINK_MAX_IMAGES_PER_ENTITY: '3',
        POLYLINK_MAX_BATCH: '7',
        POLYLINK_MAX_PAGE: '8',
        POLYLINK_MAX_CANDIDATES: '9',
        POLYLINK_MAX_DEPTH: '5',
        POLYLINK_MAX_ALIASES: '6',
        POLYLINK_MAX_DIRECTIVES: '7',
        POLYLINK_MAX_TOKENS: '800',
        POLYLINK_MAX_COST: '900',
        POLYLINK_MAX_LINK_IMAGE_PER_REQUEST: '2',
        POLYLINK_REQUEST_TIMEOUT_MS: '1500',
        POLYLINK_RATE_LINK_IMAGE: '0',
        POLYLINK_RATE_REGISTRATIONS: '11',
        NEO4J_TIMEOUT_MS: '2500',
        NEO4J_MAX_POOL_SIZE: '20',
        POLYLINK_ANONYMOUS_READ: 'yes',
        POLYLINK_API_KEY_CACHE_MS: '0',
        POLYLINK_INTROSPECTION: 'on',
        LOG_LEVEL: 'debug',
        NODE_ENV: 'development',
      },
      CWD,
    );
    expect(config.http).toEqual({
      host: 'example.internal',
      port: 8080,
      publicBaseUrl: 'https://links.example.com',
      maxRequestBytes: 2048,
    });
    expect(config.neo4j).toEqual({
      uri: 'neo4j+s://db.example.com:7687',
      user: 'linker',
      password: ' secret ',
      database: 'kg',
      timeoutMs: 2500,
      maxPoolSize: 20,
    });
    expect(config.auth).toEqual({ anonymousRead: true, keyCacheMs: 0 });
    expect(config.images).toEqual({
      storeDir: path.join(CWD, 'data', 'img'),
      maxBytes: 4096,
      maxPixels: 1000,
      maxSide: 500,
      svg: 'refuse',
      maxSvgPixels: 300,
      decodeTimeoutMs: 2500,
      maxPerEntity: 3,
    });
    expect(config.limits).toEqual({
      maxBatchSize: 7,
      maxPageSize: 8,
      maxCandidates: 9,
      maxDepth: 5,
      maxAliases: 6,
      maxDirectives: 7,
      maxTokens: 800,
      maxCost: 900,
      maxLinkImagePerRequest: 2,
      requestTimeoutMs: 1500,
      linkImagePerMinute: 0,
      registrationsPerMinute: 11,
    });
    expect(config.logLevel).toBe('debug');
    expect(config.isDevelopment).toBe(true);
    expect(config.introspection).toBe(true);
  });

  it('reads the S3 image store settings', () => {
    const config = parseConfig(
      {
        POLYLINK_IMAGE_STORE: 'S3',
        POLYLINK_S3_BUCKET: 'kg-images',
        POLYLINK_S3_PREFIX: '/prod/polylink',
        POLYLINK_S3_ENDPOINT: 'http://127.0.0.1:8333/',
        POLYLINK_S3_REGION: 'eu-west-3',
        POLYLINK_S3_ACCESS_KEY_ID: 'key',
        POLYLINK_S3_SECRET_ACCESS_KEY: ' secret ',
        POLYLINK_S3_PATH_STYLE: 'true',
        POLYLINK_S3_PRESIGN_SECONDS: '60',
        POLYLINK_IMAGE_SERVE: 'redirect',
      },
      CWD,
    );
    expect(config.imageStore).toEqual({
      backend: 's3',
      s3: {
        bucket: 'kg-images',
        prefix: 'prod/polylink/',
        endpoint: 'http://127.0.0.1:8333',
        region: 'eu-west-3',
        credentials: { accessKeyId: 'key', secretAccessKey: ' secret ' },
        forcePathStyle: true,
        presignSeconds: 60,
      },
      serve: 'redirect',
    });
  });

  it.each([
    [{ POLYLINK_IMAGE_STORE: 's3' }, /POLYLINK_S3_BUCKET is required/],
    [{ POLYLINK_IMAGE_STORE: 'gcs' }, /POLYLINK_IMAGE_STORE must be one of local, s3/],
    [{ POLYLINK_IMAGE_SERVE: 'redirect' }, /POLYLINK_IMAGE_SERVE=redirect needs/],
    [{ POLYLINK_S3_ACCESS_KEY_ID: 'key' }, /set both or neither/],
    [{ POLYLINK_S3_SECRET_ACCESS_KEY: 'secret' }, /set both or neither/],
    [{ POLYLINK_S3_ENDPOINT: 'ftp://host' }, /POLYLINK_S3_ENDPOINT must use one of http:, https:/],
    [{ POLYLINK_S3_PRESIGN_SECONDS: '0' }, /POLYLINK_S3_PRESIGN_SECONDS must be between/],
  ])('refuses an inconsistent image store setting %o', (env, message) => {
    expect(() => parseConfig(env, CWD)).toThrow(message);
  });

  it('keeps an absolute POLYLINK_IMAGE_DIR as given', () => {
    const dir = path.resolve('/var/lib/polylink/images');
    expect(parseConfig({ POLYLINK_IMAGE_DIR: dir }, CWD).images.storeDir).toBe(dir);
  });

  it.each([
    ['1', true],
    ['TRUE', true],
    ['yes', true],
    ['On', true],
    ['0', false],
    ['false', false],
    ['NO', false],
    ['off', false],
  ])('reads POLYLINK_MIGRATE_ON_START=%s as %s', (raw, expected) => {
    expect(parseConfig({ POLYLINK_MIGRATE_ON_START: raw }, CWD).migrateOnStart).toBe(expected);
  });

  it('accepts every Neo4j scheme', () => {
    for (const scheme of ['bolt', 'bolt+s', 'bolt+ssc', 'neo4j', 'neo4j+s', 'neo4j+ssc']) {
      expect(parseConfig({ NEO4J_URI: `${scheme}://h:7687` }, CWD).neo4j.uri).toBe(
        `${scheme}://h:7687`,
      );
    }
  });
});

describe('parseConfig: publicBaseUrl', () => {
  it('follows host and port by default', () => {
    expect(
      parseConfig({ POLYLINK_HOST: 'box.lan', POLYLINK_PORT: '9000' }, CWD).http.publicBaseUrl,
    ).toBe('http://box.lan:9000');
  });

  it('shows a wildcard host as loopback', () => {
    expect(parseConfig({ POLYLINK_HOST: '0.0.0.0' }, CWD).http.publicBaseUrl).toBe(
      'http://127.0.0.1:4000',
    );
    expect(parseConfig({ POLYLINK_HOST: '::' }, CWD).http.publicBaseUrl).toBe(
      'http://127.0.0.1:4000',
    );
  });

  it('brackets an IPv6 host in the default URL', () => {
    expect(parseConfig({ POLYLINK_HOST: '::1' }, CWD).http.publicBaseUrl).toBe('http://[::1]:4000');
  });

  it('is null when the OS picks the port (0) and POLYLINK_PUBLIC_URL is unset', () => {
    const config = parseConfig({ POLYLINK_PORT: '0' }, CWD);
    expect(config.http.port).toBe(0);
    expect(config.http.publicBaseUrl).toBeNull();
  });

  it('uses POLYLINK_PUBLIC_URL even when the port is 0', () => {
    const env = { POLYLINK_PORT: '0', POLYLINK_PUBLIC_URL: 'https://example.com/' };
    expect(parseConfig(env, CWD).http.publicBaseUrl).toBe('https://example.com');
  });

  it('treats a blank POLYLINK_PUBLIC_URL as unset when the port is 0', () => {
    expect(
      parseConfig({ POLYLINK_PORT: '0', POLYLINK_PUBLIC_URL: '  ' }, CWD).http.publicBaseUrl,
    ).toBeNull();
  });

  it('removes trailing slashes from POLYLINK_PUBLIC_URL and NEO4J_URI', () => {
    const config = parseConfig(
      { POLYLINK_PUBLIC_URL: 'https://example.com/polylink///', NEO4J_URI: 'bolt://db:7687/' },
      CWD,
    );
    expect(config.http.publicBaseUrl).toBe('https://example.com/polylink');
    expect(config.neo4j.uri).toBe('bolt://db:7687');
  });
});

describe('parseConfig: invalid values throw a ConfigError naming the variable', () => {
  it.each(['abc', '-1', '80.5', '65536', '1e3'])('POLYLINK_PORT=%s', (raw) => {
    const error = configError({ POLYLINK_PORT: raw });
    expect(error.name).toBe('ConfigError');
    expect(error.message).toContain('POLYLINK_PORT');
  });

  it('rejects out-of-range limits', () => {
    expect(configError({ POLYLINK_MAX_IMAGES_PER_ENTITY: '0' }).message).toContain(
      'POLYLINK_MAX_IMAGES_PER_ENTITY',
    );
    expect(configError({ POLYLINK_MAX_REQUEST_BYTES: '1023' }).message).toContain(
      'POLYLINK_MAX_REQUEST_BYTES',
    );
  });

  it.each([
    ['POLYLINK_SVG', 'sanitize'],
    ['POLYLINK_MAX_IMAGE_SIDE', '0'],
    ['POLYLINK_MAX_IMAGE_SIDE', '10000001'],
    ['POLYLINK_MAX_SVG_PIXELS', '0'],
    ['POLYLINK_IMAGE_DECODE_TIMEOUT_MS', '0'],
    ['POLYLINK_IMAGE_DECODE_TIMEOUT_MS', '1.5'],
  ])('rejects %s=%s', (key, raw) => {
    expect(configError({ [key]: raw }).message).toContain(key);
  });

  it('rejects a NEO4J_URI that is not a URL', () => {
    expect(configError({ NEO4J_URI: 'not a url' }).message).toContain('NEO4J_URI');
  });

  it('rejects an http:// NEO4J_URI', () => {
    const error = configError({ NEO4J_URI: 'http://127.0.0.1:7474' });
    expect(error.message).toContain('NEO4J_URI');
    expect(error.message).toContain('http:');
  });

  it('rejects a non-HTTP POLYLINK_PUBLIC_URL', () => {
    expect(configError({ POLYLINK_PUBLIC_URL: 'ftp://example.com' }).message).toContain(
      'POLYLINK_PUBLIC_URL',
    );
  });

  it.each(['maybe', '2', 'y'])('rejects POLYLINK_MIGRATE_ON_START=%s', (raw) => {
    expect(configError({ POLYLINK_MIGRATE_ON_START: raw }).message).toContain(
      'POLYLINK_MIGRATE_ON_START',
    );
  });

  it.each(['verbose', 'INFO'])('rejects LOG_LEVEL=%s', (raw) => {
    expect(configError({ LOG_LEVEL: raw }).message).toContain('LOG_LEVEL');
  });
});

describe('parseConfig: the page', () => {
  it('reads where Neo4j Browser is, without a trailing slash, and refuses what is not http(s)', () => {
    const url = (raw: string) =>
      parseConfig({ POLYLINK_NEO4J_BROWSER_URL: raw }, CWD).web.neo4jBrowserUrl;
    expect(url('http://db.example:7474/browser/')).toBe('http://db.example:7474/browser');
    expect(() => url('javascript:alert(1)')).toThrow(/POLYLINK_NEO4J_BROWSER_URL/);
  });
});
