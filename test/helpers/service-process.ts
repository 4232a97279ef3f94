import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PROJECT_ROOT } from '../../src/paths.js';

/** A `src/main.ts` process of its own (not an app in the test's process), on a port the OS picked. */
export interface ServiceProcess {
  readonly url: string;
  readonly graphqlUrl: string;
  /** Every JSON log line the process has written so far. */
  readonly logs: readonly Record<string, unknown>[];
  /** SIGTERM, then waits for the exit (the service drains and closes in order). */
  stop(): Promise<void>;
}

const STARTED = 'Polylink is serving GraphQL at';

/**
 * Starts the service as production starts it (`node --import tsx src/main.ts`), configured only
 * through its environment, and waits for the log line that names its URL.
 */
export async function startServiceProcess(
  env: Record<string, string>,
  timeoutMs = 180_000,
): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, POLYLINK_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const started = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within ${timeoutMs} ms`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(entry);
      if (typeof entry.msg === 'string' && entry.msg.startsWith(STARTED)) {
        clearTimeout(timer);
        resolve(String(entry.graphql));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the service exited (${code}) before starting: ${stderr.join('')}`));
    });
  });
  let graphqlUrl: string;
  try {
    graphqlUrl = await started;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url: graphqlUrl.replace(/\/graphql$/, ''),
    graphqlUrl,
    logs,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
