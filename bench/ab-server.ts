/**
 * One side of bench/link-image-ab.ts: the app of the code tree at --root (its own src/, loaded
 * from there), on an ephemeral port against the given Neo4j instance, with a fresh `link` key.
 * Prints {"graphqlUrl", "apiKey"} as one JSON line, then serves until its stdin closes.
 *
 *   npx tsx bench/ab-server.ts --root /work/main --instance NAME:BOLT:HTTP [--candidates 1000]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import type * as AppModule from '../src/app.js';
import type * as LoggerModule from '../src/logger.js';
import type * as BenchmarkDbModule from '../eval/harness/benchmark-db.js';
import type * as ClientModule from '../eval/service/client.js';

const { values } = parseArgs({
  options: {
    root: { type: 'string' },
    instance: { type: 'string' },
    candidates: { type: 'string', default: '1000' },
  },
});
if (!values.root || !values.instance) throw new Error('--root and --instance are required');
const root = path.resolve(values.root);
// Each side loads its own tree's modules: the code under comparison, not this file's tree.
const from = async <T>(file: string): Promise<T> => (await import(path.join(root, file))) as T;
const { createApp } = await from<typeof AppModule>('src/app.ts');
const { createLogger } = await from<typeof LoggerModule>('src/logger.ts');
const db = await from<typeof BenchmarkDbModule>('eval/harness/benchmark-db.ts');
const { serviceClient } = await from<typeof ClientModule>('eval/service/client.ts');
const config = db.instanceConfig(db.parseInstance(values.instance), Number(values.candidates));
const app = await createApp(config, createLogger(config.logLevel));
const client = await serviceClient(app, `a/b ${root}`);
process.stdout.write(`${JSON.stringify(client)}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  void app.close().then(() => process.exit(0));
});
