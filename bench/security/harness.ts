/**
 * What the security scripts (issue 11) share: a private Neo4j instance driven by db/neo4j/*.sh, the
 * service as a child process on loopback, its RSS, API keys made with the project's own CLI, and a
 * bounded HTTP client. Every wait here has a deadline; nothing talks to anything but 127.0.0.1.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../src/paths.js';

export function log(tag: string, message: string): void {
  process.stderr.write(`[${tag} ${new Date().toISOString()}] ${message}\n`);
}

export interface Neo4jInstance {
  readonly name: string;
  readonly boltPort: number;
  readonly uri: string;
  reset(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One db/neo4j instance with auth off, on its own ports, so a run never touches anyone's data. */
export function neo4jInstance(name: string, boltPort: number, httpPort: number): Neo4jInstance {
  const env = {
    ...process.env,
    NEO4J_INSTANCE: name,
    NEO4J_AUTH_ENABLED: 'false',
    NEO4J_BOLT_PORT: String(boltPort),
    NEO4J_HTTP_PORT: String(httpPort),
    NEO4J_START_TIMEOUT: '120',
    NEO4J_STOP_TIMEOUT: '30',
  };
  // Asynchronous: the load script's clients keep running while Neo4j stops and starts.
  const run = (script: string) =>
    new Promise<void>((resolve, reject) => {
      // The scripts have their own timeouts; this one only guards against a hung shell.
      execFile(
        'bash',
        [path.join(PROJECT_ROOT, 'db/neo4j', script)],
        { env, cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 180_000 },
        (error, _stdout, stderr) => {
          if (error)
            reject(new Error(`db/neo4j/${script} (${name}) failed: ${stderr.slice(-2000)}`));
          else resolve();
        },
      );
    });
  return {
    name,
    boltPort,
    uri: `bolt://127.0.0.1:${boltPort}`,
    reset: () => run('reset.sh'),
    start: () => run('start.sh'),
    stop: () => run('stop.sh'),
  };
}

export interface ServiceOptions {
  readonly port: number;
  readonly neo4jUri: string;
  readonly imageDir: string;
  readonly logFile: string;
  /** NODE_ENV of the child; the service's own default is development. */
  readonly nodeEnv: string;
  readonly extraEnv?: Readonly<Record<string, string>>;
}

export interface ChildService {
  readonly pid: number;
  readonly url: string;
  /** How the process ended: an exit code, or the signal that killed it (a native crash shows here). */
  readonly exited: Promise<string>;
  alive(): boolean;
  kill(signal: NodeJS.Signals): void;
}

/**
 * `node --import tsx src/main.ts` as one process (not the tsx CLI, which forks a second one): its
 * pid is the server's, so kill -9 and /proc/<pid>/status reach the process that serves.
 */
export function startService(options: ServiceOptions): ChildService {
  const out = createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      POLYLINK_HOST: '127.0.0.1',
      POLYLINK_PORT: String(options.port),
      NEO4J_URI: options.neo4jUri,
      NEO4J_PASSWORD: '',
      POLYLINK_IMAGE_DIR: options.imageDir,
      LOG_LEVEL: 'warn',
      NODE_ENV: options.nodeEnv,
      ...options.extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  if (child.pid === undefined) throw new Error('could not spawn the service');
  const pid = child.pid;
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve(signal ?? `exit ${code}`);
    });
  });
  return {
    pid,
    url: `http://127.0.0.1:${options.port}`,
    exited,
    alive: () => running,
    kill: (signal) => {
      if (running) child.kill(signal);
    },
  };
}

/** Polls /readyz until it answers 200; returns the milliseconds it took, or throws at the deadline. */
export async function waitReady(service: ChildService, timeoutMs: number): Promise<number> {
  const started = performance.now();
  const deadline = started + timeoutMs;
  while (performance.now() < deadline) {
    if (!service.alive()) throw new Error(`the service (pid ${service.pid}) exited while starting`);
    try {
      const response = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (response.status === 200) return performance.now() - started;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the service was not ready within ${timeoutMs} ms`);
}

/** Stops the service: TERM, then KILL after a grace period. */
export async function stopService(service: ChildService, graceMs = 10_000): Promise<void> {
  if (!service.alive()) return;
  service.kill('SIGTERM');
  const code = await Promise.race([service.exited, sleep(graceMs).then(() => 'timeout' as const)]);
  if (code === 'timeout') {
    service.kill('SIGKILL');
    await Promise.race([service.exited, sleep(5000)]);
  }
}

/** Resident set size of a live process in KiB (null when it is gone). */
export function rssKiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match?.[1] ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export const API_KEYS_CLI = path.join(PROJECT_ROOT, 'src/cli/polylink.ts');

/**
 * A key from the project's CLI (`polylink api-keys create --role R --name N`, key alone on stdout), or
 * null where the CLI does not exist yet (before API keys landed the service took anonymous calls).
 */
export function createApiKey(neo4jUri: string, role: string, name: string): string | null {
  if (!existsSync(API_KEYS_CLI)) return null;
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', API_KEYS_CLI, 'api-keys', 'create', '--role', role, '--name', name],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, NEO4J_URI: neo4jUri, NEO4J_PASSWORD: '', LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  if (result.status !== 0) {
    throw new Error(`api-keys create --role ${role} failed: ${result.stderr.slice(-1000)}`);
  }
  const key = result.stdout.trim().split('\n').pop()?.trim() ?? '';
  if (key === '') throw new Error('api-keys create printed no key');
  return key;
}

export function authHeaders(key: string | null): Record<string, string> {
  return key === null ? {} : { authorization: `Bearer ${key}` };
}

export interface HttpResult {
  /** 0 when no response arrived (refused, reset, or past the deadline). */
  readonly status: number;
  readonly text: string;
  readonly contentType: string;
  readonly ms: number;
  readonly networkError: string | null;
}

/** One request with a hard deadline; network failures come back as data, never as a throw. */
export async function request(
  url: string,
  init: {
    method?: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array | FormData;
  },
  timeoutMs: number,
): Promise<HttpResult> {
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: init.method ?? 'POST',
      headers: init.headers,
      body: init.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    return {
      status: response.status,
      text,
      contentType: response.headers.get('content-type') ?? '',
      ms: performance.now() - started,
      networkError: null,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = error instanceof Error ? error.name : 'Error';
    return {
      status: 0,
      text: '',
      contentType: '',
      ms: performance.now() - started,
      networkError: cause ?? name,
    };
  }
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/**
 * Runs `cleanup` once, whether the script ends normally, throws, or gets SIGINT/SIGTERM, so child
 * services and Neo4j instances never outlive the script.
 */
let exiting = false;

/** True once cleanup has begun: loops stop restarting children. */
export function isExiting(): boolean {
  return exiting;
}

export function onExit(cleanup: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | null = null;
  const once = () => {
    exiting = true;
    done ??= cleanup().catch((error: unknown) => {
      log('cleanup', `failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    return done;
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log('cleanup', `${signal}: stopping children`);
      void once().then(() => process.exit(130));
    });
  }
  return once;
}
