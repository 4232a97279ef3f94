import { describe, expect, it } from 'vitest';
import { CandidateVectorCache } from '../../src/linking/candidate-vector-cache.js';

const vector = (...values: number[]) => Float32Array.from(values);

describe('CandidateVectorCache', () => {
  it('returns a stored vector only while the content hash matches', () => {
    const cache = new CandidateVectorCache(10);
    cache.store([
      { id: 'a', contentHash: 'h1', vector: vector(1, 0) },
      { id: 'b', contentHash: 'h2', vector: vector(0, 1) },
    ]);
    const { found, missing } = cache.lookup([
      { id: 'a', contentHash: 'h1' },
      { id: 'b', contentHash: 'changed' },
      { id: 'c', contentHash: 'h3' },
    ]);
    expect([...found.keys()]).toEqual(['a']);
    expect(Array.from(found.get('a')!)).toEqual([1, 0]);
    expect(missing).toEqual([
      { id: 'b', contentHash: 'changed' },
      { id: 'c', contentHash: 'h3' },
    ]);
  });

  it('replaces an entry read again under a new hash', () => {
    const cache = new CandidateVectorCache(10);
    cache.store([{ id: 'a', contentHash: 'old', vector: vector(1) }]);
    cache.store([{ id: 'a', contentHash: 'new', vector: vector(2) }]);
    expect(Array.from(cache.lookup([{ id: 'a', contentHash: 'new' }]).found.get('a')!)).toEqual([
      2,
    ]);
    expect(cache.lookup([{ id: 'a', contentHash: 'old' }]).missing).toHaveLength(1);
  });

  it('evicts the least recently used entry beyond its size', () => {
    const cache = new CandidateVectorCache(2);
    cache.store([
      { id: 'a', contentHash: 'h', vector: vector(1) },
      { id: 'b', contentHash: 'h', vector: vector(2) },
    ]);
    cache.lookup([{ id: 'a', contentHash: 'h' }]); // a is now the most recent
    cache.store([{ id: 'c', contentHash: 'h', vector: vector(3) }]);
    expect(cache.size).toBe(2);
    const { found } = cache.lookup([
      { id: 'a', contentHash: 'h' },
      { id: 'b', contentHash: 'h' },
      { id: 'c', contentHash: 'h' },
    ]);
    expect([...found.keys()].sort()).toEqual(['a', 'c']);
  });

  it('keeps nothing when its size is 0', () => {
    const cache = new CandidateVectorCache(0);
    cache.store([{ id: 'a', contentHash: 'h', vector: vector(1) }]);
    expect(cache.size).toBe(0);
    expect(cache.lookup([{ id: 'a', contentHash: 'h' }]).missing).toHaveLength(1);
  });
});
