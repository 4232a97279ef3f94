/**
 * Interleaved A/B latency of `linkImage` between two code trees (issue 13): both apps run at once
 * (bench/ab-server.ts, each loading its own tree's src/) against one Neo4j copy of the benchmark
 * KB, and the client sends every query to both, one after the other, alternating which goes
 * first. On a machine shared with other jobs, load then falls on both sides alike, which
 * separate runs minutes apart do not give (bench/link-image-latency.ts measures one tree).
 *
 *   npx tsx bench/link-image-ab.ts --a /path/to/before --b . --instance NAME:BOLT:HTTP
 *     [--modes vandt-kg,vt-kg-given,vt-kg-auto] [--sample 30] [--runs 2] [--name NAME]
 *     [--b-env KEY=VALUE ...]
 *
 * `--b-env` sets a variable for side B alone, so one tree can be compared with itself under
 * another setting (e.g. --a . --b . --b-env POLYLINK_ONNX_WORKERS=vision).
 *
 * The instance must already hold the benchmark KB (e.g. bench/link-image-latency.ts
 * --import-only --keep-db); it is started if need be and left running. A benchmark, not a test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/paths.js';
import { LINK_STAGES } from '../src/linking/stage-clock.js';
import { parseInstance, runNeo4jScript } from '../eval/harness/benchmark-db.js';
import { readGoldQueries, type GoldQuery } from '../eval/harness/format.js';
import { linkImage, type ServiceClient } from '../eval/service/client.js';
import { dataUrlOf, linkInputOf, MODE_INFO, parseModes } from '../eval/service/convert.js';
import { benchMachine, evenlySpread, percentile, round } from './report.js';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string', default: '.' },
    instance: { type: 'string' },
    queries: { type: 'string', default: 'var/benchmark/queries.jsonl' },
    modes: { type: 'string', default: 'vandt-kg,vt-kg-given,vt-kg-auto' },
    sample: { type: 'string', default: '30' },
    runs: { type: 'string', default: '2' },
    candidates: { type: 'string', default: '1000' },
    name: { type: 'string', default: 'link-image-ab' },
    'b-env': { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: path.join(PROJECT_ROOT, 'bench/results') },
  },
});
if (!values.a || !values.instance) throw new Error('--a and --instance are required');
const trees = { a: path.resolve(values.a), b: path.resolve(values.b) } as const;
const sides = ['a', 'b'] as const;
type Side = (typeof sides)[number];
const runs = Number(values.runs);
const candidates = Number(values.candidates);
const log = (message: string) =>
  process.stderr.write(`[link-image-ab ${new Date().toISOString()}] ${message}\n`);

/** `--b-env KEY=VALUE` pairs: side B's settings on top of this process's environment. */
const bEnv = Object.fromEntries(
  values['b-env'].map((pair) => {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`--b-env takes KEY=VALUE, got "${pair}"`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

function startSide(
  root: string,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; client: ServiceClient }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(PROJECT_ROOT, 'bench/ab-server.ts'),
      '--root',
      root,
      '--instance',
      values.instance!,
      '--candidates',
      String(candidates),
    ],
    { cwd: root, stdio: ['pipe', 'pipe', 'inherit'], env },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => resolve({ child, client: JSON.parse(line) as ServiceClient }));
    child.once('exit', (code) => reject(new Error(`${root}: server exited (${code})`)));
  });
}

const all = await readGoldQueries(values.queries);
const test = all.filter((q) => q.split === 'test' && q.regions.length <= 5);
const groups: { name: string; queries: GoldQuery[] }[] = [
  { name: 'test queries with 1–5 regions', queries: evenlySpread(test, Number(values.sample)) },
  {
    name: 'scenes with 4–5 regions',
    queries: evenlySpread(
      test.filter((q) => q.kind === 'scene' && q.regions.length >= 4),
      Number(values.sample),
    ),
  },
];
runNeo4jScript('start.sh', parseInstance(values.instance));
const servers = {
  a: await startSide(trees.a, process.env),
  b: await startSide(trees.b, { ...process.env, ...bEnv }),
};
const loadBefore = os.loadavg();
const results = [];
try {
  for (const mode of parseModes(values.modes)) {
    for (const group of groups) {
      const inputs = await Promise.all(
        group.queries.map(async (query) => {
          const bytes = new Uint8Array(await readFile(path.resolve(PROJECT_ROOT, query.image)));
          return linkInputOf(query, mode, { dataUrl: dataUrlOf(bytes, query.image), candidates });
        }),
      );
      // Untimed: loads lazily created models, warms Neo4j and the JIT on both sides.
      for (const input of inputs)
        for (const side of sides) await linkImage(servers[side].client, input);
      const http = { a: [] as number[], b: [] as number[] };
      const server = { a: [] as number[], b: [] as number[] };
      const stages = { a: new Map<string, number[]>(), b: new Map<string, number[]>() };
      // Each side's triples per query (scores and entities; not the timing), from the first run.
      const answers = { a: new Map<number, string>(), b: new Map<number, string>() };
      let errors = 0;
      let turn = 0;
      for (let run = 0; run < runs; run += 1) {
        for (const [index, input] of inputs.entries()) {
          const order: Side[] = turn++ % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
          for (const side of order) {
            const answer = await linkImage(servers[side].client, input);
            if (!answer.result) {
              errors += 1;
              log(`${side} ${mode}: ${answer.error}`);
              continue;
            }
            http[side].push(answer.ms);
            if (run === 0) answers[side].set(index, JSON.stringify(answer.result.triples));
            for (const { stage, ms } of answer.result.timing) {
              if (stage === 'total') server[side].push(ms);
              else stages[side].set(stage, [...(stages[side].get(stage) ?? []), ms]);
            }
          }
        }
      }
      const dist = (samples: number[]) => {
        const sorted = [...samples].sort((x, y) => x - y);
        return {
          p50Ms: round(percentile(sorted, 0.5)),
          p95Ms: round(percentile(sorted, 0.95)),
          p99Ms: round(percentile(sorted, 0.99)),
        };
      };
      const summary = (side: Side) => ({
        http: dist(http[side]),
        server: dist(server[side]),
        stages: Object.fromEntries(
          LINK_STAGES.filter((stage) => stages[side].has(stage)).map((stage) => [
            stage,
            dist(stages[side].get(stage)!).p50Ms,
          ]),
        ),
      });
      const result = {
        mode,
        title: MODE_INFO[mode].title,
        group: group.name,
        requestsPerSide: http.a.length,
        errors,
        queriesWithDifferentTriples: inputs.filter(
          (_, index) => answers.a.get(index) !== answers.b.get(index),
        ).length,
        a: summary('a'),
        b: summary('b'),
        loadAverage: os.loadavg(),
      };
      log(JSON.stringify(result));
      results.push(result);
    }
  }
} finally {
  for (const side of sides) servers[side].child.stdin!.end();
}

const report = {
  date: new Date().toISOString(),
  a: trees.a,
  b: trees.b,
  bEnv,
  candidates,
  runs,
  groups: groups.map((g) => ({ name: g.name, queries: g.queries.map((q) => q.id) })),
  order: 'per query, both sides one after the other, the first side alternating',
  machine: { ...benchMachine(), loadAverageAtStart: loadBefore },
  results,
};
await mkdir(values.out, { recursive: true });
await writeFile(
  path.join(values.out, `${values.name}.json`),
  `${JSON.stringify(report, null, 2)}\n`,
);
const stageNames = ['regions', 'encode-text', 'encode-regions', 'candidates'];
const { machine } = report;
await writeFile(
  path.join(values.out, `${values.name}.md`),
  [
    `Measured ${report.date.slice(0, 10)} on ${machine.cpuModel} (${machine.cores} cores), ${machine.os}, Node ${machine.node}; load average ${loadBefore.map((v) => v.toFixed(1)).join(' ')} at the start, ${machine.loadAverageAtEnd.join(' ')} at the end. A = ${trees.a}, B = ${trees.b}${
      Object.keys(bEnv).length > 0
        ? ` with ${Object.entries(bEnv)
            .map(([key, value]) => `${key}=${value}`)
            .join(' ')}`
        : ''
    }, both serving at once on one Neo4j; ${candidates} candidates; ${groups.map((g) => `${g.queries.length} ${g.name}`).join(' and ')}; ${runs} timed runs after one untimed pass, each query sent to A and B one after the other, the first alternating. HTTP = client wall time; stage columns are server p50 ms.`,
    '',
    `| mode | sample | side | HTTP p50 | HTTP p95 | HTTP p99 | server p50 | ${stageNames.join(' | ')} | queries whose triples differ |`,
    `| --- | --- | --- | --: | --: | --: | --: | ${stageNames.map(() => '--:').join(' | ')} | --: |`,
    ...results.flatMap((r) =>
      sides.map((side) => {
        const s = r[side];
        return `| ${r.title} | ${r.group} | ${side.toUpperCase()} | ${s.http.p50Ms} | ${s.http.p95Ms} | ${s.http.p99Ms} | ${s.server.p50Ms} | ${stageNames.map((n) => s.stages[n] ?? '').join(' | ')} | ${r.queriesWithDifferentTriples} |`;
      }),
    ),
    '',
  ].join('\n'),
);
log(`wrote ${values.name}.{json,md}`);
