import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSplit, SPLITS, type SplitManifest } from '../../eval/build/split.js';
import { conceptKey } from '../../eval/build/text.js';

const manifest = JSON.parse(readFileSync('eval/split.json', 'utf8')) as SplitManifest;
const kb = readFileSync('test/fixtures/benchmark/kb.jsonl', 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { id: string; concept: string; split: string; domain: string });

describe('eval/split.json (checked in)', () => {
  it('assigns every domain and every KB entity to train, dev or test', () => {
    for (const s of Object.values(manifest.domains)) expect(SPLITS).toContain(s);
    for (const s of Object.values(manifest.entities)) expect(SPLITS).toContain(s);
    expect(Object.keys(manifest.entities).length).toBeGreaterThan(3000);
    for (const s of SPLITS) expect(manifest.counts[s].entities).toBeGreaterThan(0);
  });

  it('keeps entity sets disjoint: NIL and dropped entities are not in the KB', () => {
    for (const id of [...Object.keys(manifest.nil), ...Object.keys(manifest.dropped)]) {
      expect(manifest.entities[id]).toBeUndefined();
    }
    const total = SPLITS.reduce((n, s) => n + manifest.counts[s].entities, 0);
    expect(total).toBe(Object.keys(manifest.entities).length);
  });

  it('puts every entity in its domain split (split by domain, never by random entity)', () => {
    for (const [id, split] of Object.entries(manifest.entities)) {
      const line = kb.find((k) => k.id === id);
      if (line) expect(manifest.domains[line.domain]).toBe(split);
    }
    for (const line of kb) expect(manifest.entities[line.id]).toBe(line.split);
  });

  it('has disjoint concepts across train/dev/test', () => {
    const splitOfConcept = new Map<string, string>();
    for (const [id, split] of Object.entries(manifest.entities)) {
      const concept = manifest.concepts[id];
      expect(concept).toBeDefined();
      const prev = splitOfConcept.get(concept ?? '');
      if (prev !== undefined) expect(prev, `${id} (${concept})`).toBe(split);
      splitOfConcept.set(concept ?? '', split);
    }
  });

  it('counts concepts per split consistently with its entities', () => {
    for (const s of SPLITS) {
      expect(manifest.counts[s].concepts).toBeLessThanOrEqual(manifest.counts[s].entities);
    }
  });
});

describe('buildSplit', () => {
  const entities = [
    ...['a', 'b', 'c', 'd', 'e', 'f'].flatMap((d) =>
      [1, 2, 3].map((k) => ({
        id: `x:${d}${k}`,
        source: 'x',
        domain: `x/${d}`,
        concept: `${d}${k}`,
      })),
    ),
    // "giraffe" occurs in two domains: it must end up in one split only.
    { id: 'x:a-giraffe', source: 'x', domain: 'x/a', concept: 'giraffe' },
    { id: 'x:b-giraffe', source: 'x', domain: 'x/b', concept: 'giraffe' },
    { id: 'x:c-giraffe', source: 'x', domain: 'x/c', concept: 'giraffe' },
  ];

  it('is deterministic for a seed and puts every source in every split', () => {
    const a = buildSplit(entities, 7);
    expect(buildSplit(entities, 7)).toEqual(a);
    expect(new Set(Object.values(a.domains))).toEqual(new Set(SPLITS));
  });

  it('makes concepts disjoint across splits, recording the dropped entities', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const m = buildSplit(entities, seed, 0);
      const splitsOf = new Map<string, Set<string>>();
      for (const e of entities) {
        const s = m.entities[e.id];
        if (!s) continue;
        splitsOf.set(e.concept, (splitsOf.get(e.concept) ?? new Set()).add(s));
      }
      for (const set of splitsOf.values()) expect(set.size).toBe(1);
    }
  });

  it('holds out only concept-unique entities as NIL', () => {
    const m = buildSplit(entities, 1, 0.5);
    expect(Object.keys(m.nil).length).toBeGreaterThan(0);
    expect(Object.keys(m.nil)).not.toContain('x:a-giraffe');
  });
});

describe('the checked-in split over the fixture entities', () => {
  it('has disjoint concepts across train/dev/test (re-derived from the fixture KB)', () => {
    const concepts = new Map<string, string>();
    for (const line of kb) {
      expect(conceptKey(line.concept)).toBe(line.concept);
      const prev = concepts.get(line.concept);
      if (prev !== undefined) expect(prev).toBe(line.split);
      concepts.set(line.concept, line.split);
    }
  });
});
