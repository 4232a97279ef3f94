import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createGraph, type Graph } from '../../src/neo4j/driver.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { loadedBundle } from '../helpers/fixtures.js';
import { removeLinkedImages, removeTestData } from '../helpers/test-app.js';

// The real `polylink` command (bin/polylink.js) as a child process against the real Neo4j of
// NEO4J_URI and the assembled model bundle.
const BIN = path.join(PROJECT_ROOT, 'bin/polylink.js');
const { hasLinker } = loadedBundle();

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const KB_LINES = (
  await readFile(path.join(PROJECT_ROOT, 'test/fixtures/benchmark/kb.jsonl'), 'utf8')
)
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map(
    (line) =>
      JSON.parse(line) as { id: string; images: { path: string }[] } & Record<string, unknown>,
  );
const HAIR_MANGA = 'tuxpaint-stamp:people/body_parts/hair_manga';

describe.skipIf(!hasLinker)('polylink command', () => {
  const tag = randomUUID().slice(0, 8);
  const prefix = `cli-${tag}:`;
  const domain = `cli-${tag}`;
  let dir: string;
  let graph: Graph;

  function polylink(args: string[], env: Record<string, string> = {}): Promise<Run> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        [BIN, ...args],
        {
          cwd: PROJECT_ROOT,
          env: {
            ...process.env,
            POLYLINK_CLI_FROM_SOURCE: '1',
            POLYLINK_IMAGE_DIR: path.join(dir, 'store'),
            LOG_LEVEL: 'warn',
            ...env,
          },
          maxBuffer: 32 * 1024 * 1024,
          timeout: 170_000,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
  }

  /** The benchmark KB under this file's ids and domain, with bad lines at known numbers. */
  async function writeImportFile(): Promise<string> {
    const lines = KB_LINES.map((entity) =>
      JSON.stringify({ ...entity, id: `${prefix}${entity.id}`, domain }),
    );
    lines.splice(3, 0, '{"id": "broken');
    lines.splice(
      7,
      0,
      JSON.stringify({ id: `${prefix}gone`, name: 'Gone', images: [{ path: 'no/such/file.png' }] }),
    );
    lines.splice(
      11,
      0,
      JSON.stringify({
        id: `${prefix}text`,
        name: 'Text',
        images: [{ path: path.join(dir, 'not-an-image.png') }],
      }),
    );
    const file = path.join(dir, 'entities.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    return file;
  }

  async function countEntities(): Promise<number> {
    const [row] = await graph.read('test.cliCount', (tx) =>
      tx.query<{ n: number }>(
        'MATCH (e:Entity) WHERE e.id STARTS WITH $prefix RETURN count(e) AS n',
        {
          prefix,
        },
      ),
    );
    return row?.n ?? 0;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'polylink-cli-'));
    await writeFile(path.join(dir, 'not-an-image.png'), 'plain text, not a PNG\n');
    graph = await createGraph(parseConfig(process.env).neo4j);
  });

  afterAll(async () => {
    if (graph) {
      await removeLinkedImages(graph, domain);
      await removeTestData(graph, prefix);
      await graph.close();
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('imports a JSON-lines file, lists the bad lines by number and imports the rest', async () => {
    const file = await writeImportFile();
    // Batches of 5: the unreadable image's batch fails as a whole and is retried line by line.
    const run = await polylink(['import', file, '--batch', '5', '--base-dir', PROJECT_ROOT]);
    expect(run.code, run.stderr).toBe(3);
    const total = KB_LINES.length + 3;
    expect(run.stdout).toContain(
      `${total} lines, ${KB_LINES.length} created, 0 unchanged (skipped), 3 failed`,
    );
    expect(run.stdout).toContain('line 4: BAD_USER_INPUT: not valid JSON');
    expect(run.stdout).toMatch(/line 8: BAD_USER_INPUT: file not found: .*no\/such\/file\.png/);
    expect(run.stdout).toMatch(/line 12: INVALID_IMAGE: /);
    // Not a terminal: plain progress lines with count, rate and ETA on standard error.
    expect(run.stderr).toMatch(
      new RegExp(`import: ${total}/${total} \\(100%\\), [\\d.]+/s, ETA 0s`),
    );
    expect(await countEntities()).toBe(KB_LINES.length);
  });

  it('skips what is already there when the import runs again', async () => {
    const file = path.join(dir, 'entities.jsonl');
    const run = await polylink(['import', file, '--base-dir', PROJECT_ROOT]);
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toContain(`0 created, ${KB_LINES.length} unchanged (skipped), 3 failed`);
    expect(await countEntities()).toBe(KB_LINES.length);
  });

  it('re-encodes a vector that went missing', async () => {
    await graph.write('test.cliDropVector', (tx) =>
      tx.query('MATCH (e:Entity {id: $id}) REMOVE e.candidateModel, e.candidateVector', {
        id: `${prefix}${HAIR_MANGA}`,
      }),
    );
    const run = await polylink(['reencode']);
    expect(run.code, run.stderr).toBe(0);
    // At least this one (other test files may have left stale vectors in the shared database).
    expect(run.stdout).toMatch(
      /re-encoded \d+ text vectors, \d+ image vectors, [1-9]\d* candidate vectors/,
    );
    const [row] = await graph.read('test.cliVector', (tx) =>
      tx.query<{ model: string | null }>(
        'MATCH (e:Entity {id: $id}) RETURN e.candidateModel AS model',
        { id: `${prefix}${HAIR_MANGA}` },
      ),
    );
    expect(row?.model).toMatch(/^linker:/);
  });

  it('migrates (nothing pending) and logs JSON off a terminal, readable lines in development', async () => {
    const json = await polylink(['migrate']);
    expect(json.code, json.stderr).toBe(0);
    expect(json.stdout).toMatch(/^schema is up to date \(\d+ migrations applied\)$/m);
    // Without models the backend warns once: a JSON line here, a readable one in development.
    expect(json.stderr).toMatch(/^\{"level":40,.*"msg":"POLYLINK_MODELS=off/m);
    const pretty = await polylink(['migrate'], { NODE_ENV: 'development' });
    expect(pretty.code, pretty.stderr).toBe(0);
    expect(pretty.stderr).toMatch(/^\[[\d:.]+\] WARN \(polylink\/\d+\): POLYLINK_MODELS=off/m);
  });

  it('imports a folder of images with a metadata file, naming images no line names', async () => {
    const folder = path.join(dir, 'flags');
    await mkdir(folder);
    for (const name of ['rome-large.png', 'usa-large.png', 'ddr-large.png']) {
      await copyFile(
        path.join(PROJECT_ROOT, 'test/fixtures/freeciv/flags', name),
        path.join(folder, name),
      );
    }
    await writeFile(
      path.join(folder, 'metadata.jsonl'),
      [
        { file: 'rome-large.png', id: `${prefix}rome`, name: 'Romans', domain: `${domain}-flags` },
        { file: 'usa-large.png', id: `${prefix}usa`, name: 'Americans', domain: `${domain}-flags` },
      ]
        .map((line) => JSON.stringify(line))
        .join('\n'),
    );
    const run = await polylink(['import', folder]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('2 lines, 2 created, 0 unchanged (skipped), 0 failed');
    expect(run.stdout).toContain(
      '1 image files of the folder are named by no line (not imported): ddr-large.png',
    );
  });

  it('links a folder of images with a captions file, one JSON line per image', async () => {
    const folder = path.join(dir, 'scenes');
    await mkdir(folder);
    await copyFile(
      path.join(PROJECT_ROOT, 'test/fixtures/benchmark/images/q-000001.jpg'),
      path.join(folder, 'q-000001.jpg'),
    );
    await copyFile(path.join(dir, 'not-an-image.png'), path.join(folder, 'broken.png'));
    await writeFile(
      path.join(folder, 'captions.jsonl'),
      `${JSON.stringify({ file: 'q-000001.jpg', caption: 'The hair manga in a forest.' })}\n`,
    );
    const run = await polylink(['link', folder, '--domain', domain]);
    expect(run.code, run.stderr).toBe(3);
    const lines = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    const [broken, scene] = lines as [
      { file: string; error: { code: string } },
      {
        file: string;
        task: string;
        triples: {
          nil: boolean;
          entity: { id: string; name: string } | null;
          mention: { text: string } | null;
        }[];
      },
    ];
    expect(broken.file).toBe(path.join(folder, 'broken.png'));
    expect(broken.error.code).toBe('INVALID_IMAGE');
    expect(scene.task).toBe('VT-KG');
    const triple = scene.triples.find((t) => t.mention?.text === 'hair manga');
    expect(triple?.nil).toBe(false);
    expect(triple?.entity).toEqual({ id: `${prefix}${HAIR_MANGA}`, name: 'Hair manga' });
    expect(run.stderr).toMatch(/link: 2 images, 1 linked, 1 failed/);
    expect(run.stderr).toMatch(/broken\.png: INVALID_IMAGE: /);
  });

  it('reports Neo4j, the schema, the model bundle and counts per domain', async () => {
    const json = await polylink(['status', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as {
      neo4j: { reachable: boolean; server: string };
      migrations: { files: number; applied: unknown[]; pending: string[] };
      models: { bundle: string | null };
      domains: { domain: string; entities: number; images: number; linkedImages: number }[];
    };
    expect(report.neo4j.reachable).toBe(true);
    expect(report.neo4j.server).toMatch(/^Neo4j Kernel 5\.26/);
    expect(report.migrations.pending).toEqual([]);
    expect(report.migrations.applied).toHaveLength(report.migrations.files);
    expect(report.models.bundle).toMatch(/^polylink-default@/);
    expect(report.domains).toContainEqual({
      domain,
      entities: KB_LINES.length,
      images: new Set(KB_LINES.flatMap((e) => e.images.map((i) => i.path))).size,
      linkedImages: 1,
    });
    const text = await polylink(['status']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/neo4j: +bolt:\/\/.*: reachable, Neo4j Kernel 5\.26/);
    expect(text.stdout).toMatch(new RegExp(`^  ${domain} +${KB_LINES.length} +\\d+ +1$`, 'm'));
    expect(text.stdout.trim().split('\n').at(-1)).toBe('ok');
  });

  it('says when Neo4j is unreachable, with exit status 1', async () => {
    const run = await polylink(['status'], {
      NEO4J_URI: 'bolt://127.0.0.1:9',
      NEO4J_TIMEOUT_MS: '2000',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/NOT reachable/);
    expect(run.stdout).toMatch(/needs attention: Neo4j is not reachable/);
  });

  it('refuses a missing file with exit status 2 before connecting', async () => {
    const run = await polylink(['import', path.join(dir, 'missing.jsonl')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/missing\.jsonl does not exist/);
  });
});
