import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  importLineToEntityInput,
  readImportBatches,
  type ImportLine,
} from '../../src/cli/import-file.js';
import { parseConfig, type Config } from '../../src/config.js';
import type { Services } from '../../src/backend.js';
import { PROJECT_ROOT } from '../../src/paths.js';

/**
 * What the evaluation runners (baselines, service) share: their own Neo4j instance, the benchmark
 * KB registered through the service, and JSON-lines output.
 */

/** Environment naming a disposable Neo4j instance of `db/neo4j/*.sh`. */
export type InstanceEnv = Readonly<Record<string, string>>;

/**
 * The service evaluation's instance (eval/service/run-service-eval.ts); the linkImage latency
 * bench reuses the KB it imports there (`--import-only` or `--keep-db`, then `--reuse-db`).
 */
export const SERVICE_EVAL_INSTANCE: InstanceEnv = {
  NEO4J_INSTANCE: 'svc-eval',
  NEO4J_AUTH_ENABLED: 'false',
  NEO4J_BOLT_PORT: '7694',
  NEO4J_HTTP_PORT: '7481',
};

/** `NAME:BOLT_PORT:HTTP_PORT` (the runners' --instance) as a disposable instance without auth. */
export function parseInstance(spec: string): InstanceEnv {
  const [name, bolt, http] = spec.split(':');
  if (!name || !bolt || !http) throw new Error('--instance takes NAME:BOLT_PORT:HTTP_PORT');
  return {
    NEO4J_INSTANCE: name,
    NEO4J_AUTH_ENABLED: 'false',
    NEO4J_BOLT_PORT: bolt,
    NEO4J_HTTP_PORT: http,
  };
}

/** The configuration for an instance: the service evaluation's own, or another's with its images. */
export function instanceConfig(instance: InstanceEnv, maxCandidates: number): Config {
  return instance === SERVICE_EVAL_INSTANCE
    ? serviceEvalConfig(maxCandidates)
    : evaluationConfig(instance, {
        maxCandidates,
        imageDir: `var/eval/${instance.NEO4J_INSTANCE}-images`,
      });
}

/**
 * The app's configuration for an evaluation against a local instance: an ephemeral HTTP port, its
 * own image store, `maxCandidates` as the largest candidate list a request may ask for, and no
 * per-minute limits (one client sends every query of a split back to back).
 */
export function evaluationConfig(
  instance: InstanceEnv,
  options: { readonly maxCandidates: number; readonly imageDir: string },
): Config {
  return parseConfig({
    ...process.env,
    NEO4J_URI: `bolt://127.0.0.1:${instance.NEO4J_BOLT_PORT}`,
    NEO4J_USER: 'neo4j',
    NEO4J_PASSWORD: '',
    NEO4J_DATABASE: 'neo4j',
    POLYLINK_HOST: '127.0.0.1',
    POLYLINK_PORT: '0',
    POLYLINK_PUBLIC_URL: '',
    POLYLINK_IMAGE_DIR: path.join(PROJECT_ROOT, options.imageDir),
    POLYLINK_MAX_CANDIDATES: String(options.maxCandidates),
    POLYLINK_RATE_LINK_IMAGE: '0',
    POLYLINK_RATE_REGISTRATIONS: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
}

/** The service evaluation's configuration against its own instance. */
export function serviceEvalConfig(maxCandidates: number): Config {
  return evaluationConfig(SERVICE_EVAL_INSTANCE, {
    maxCandidates,
    imageDir: 'var/eval/svc-eval-images',
  });
}

/** Runs `db/neo4j/<name>` (reset.sh, start.sh, stop.sh) for the instance; throws on failure. */
export function runNeo4jScript(name: string, instance: InstanceEnv): void {
  const result = spawnSync('bash', [path.join(PROJECT_ROOT, 'db/neo4j', name)], {
    env: { ...process.env, ...instance },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (result.status !== 0) throw new Error(`db/neo4j/${name} failed (${result.status})`);
}

/**
 * Only the import fields of a KB line (`ImportLine`): concept, split, source and the like are a
 * benchmark's bookkeeping, not entity content.
 */
export function importFieldsOf(line: ImportLine): ImportLine {
  return {
    id: line.id,
    name: line.name,
    ...(line.aliases ? { aliases: line.aliases } : {}),
    ...(line.description !== undefined ? { description: line.description } : {}),
    ...(line.domain !== undefined ? { domain: line.domain } : {}),
    ...(line.tags ? { tags: line.tags } : {}),
    ...(line.images ? { images: line.images.map((i) => ({ path: i.path })) } : {}),
  };
}

/** Registers a benchmark `kb.jsonl` through EntityService in batches; returns the count. */
export async function importBenchmarkKb(
  services: Services,
  kbFile: string,
  options: { readonly batchSize: number; readonly log: (message: string) => void },
): Promise<number> {
  let count = 0;
  for await (const batch of readImportBatches(kbFile, options.batchSize)) {
    const inputs = await Promise.all(
      batch.map((line) => importLineToEntityInput(importFieldsOf(line), PROJECT_ROOT)),
    );
    await services.entities.registerMany(inputs);
    count += inputs.length;
    if (count % 500 < options.batchSize) options.log(`registered ${count} entities`);
  }
  return count;
}

export async function writeJsonLines(file: string, lines: readonly object[]): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(
    file,
    lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : ''),
  );
}
