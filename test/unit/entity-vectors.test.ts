import { describe, expect, it } from 'vitest';
import {
  entityCandidateVectors,
  entityPassage,
  entityTextVectors,
  imageVectors,
} from '../../src/services/entity-vectors.js';

describe('entityPassage', () => {
  it('puts every name first, then the description', () => {
    expect(entityPassage({ name: 'Rome', aliases: [], description: '' })).toBe('Rome');
    expect(entityPassage({ name: 'Rome', aliases: ['Roma', 'Urbs'], description: 'A city' })).toBe(
      'Rome (Roma; Urbs). A city',
    );
  });
});

describe('entity vectors', () => {
  it('encodes each entity’s passage, in order', async () => {
    const seen: string[] = [];
    const vectors = await entityTextVectors(
      {
        encodePassages: (texts) => {
          seen.push(...texts);
          return Promise.resolve(texts.map((text) => Float32Array.of(text.length, 0.5)));
        },
      },
      [
        { name: 'A', aliases: [], description: 'x' },
        { name: 'Bb', aliases: ['B'], description: '' },
      ],
    );
    expect(seen).toEqual(['A. x', 'Bb (B)']);
    expect(vectors).toEqual([
      [4, 0.5],
      [6, 0.5],
    ]);
  });

  it('stores the robust vector only when the head made one', async () => {
    const encoder = (robust: Float32Array | null) => ({
      encodeImageVectors: () => Promise.resolve({ embedding: Float32Array.of(0.25), robust }),
    });
    expect(await imageVectors(encoder(null), new Uint8Array())).toEqual({
      embedding: [0.25],
      robust: null,
    });
    expect(await imageVectors(encoder(Float32Array.of(1)), new Uint8Array())).toEqual({
      embedding: [0.25],
      robust: [1],
    });
  });

  it('gives the candidate encoder the images’ current vectors in image order, leaving out and reporting those without one', async () => {
    const given: (readonly ArrayLike<number>[])[] = [];
    const missing: [number, string][] = [];
    const vectors = await entityCandidateVectors(
      {
        encodeEntities: (entities) => {
          given.push(...entities.map((entity) => entity.imageVectors));
          return Promise.resolve(entities.map((entity) => Float32Array.of(entity.name.length)));
        },
      },
      [
        { name: 'one', description: '', images: ['b', 'gone', 'a'] },
        { name: 'three', description: '', images: [] },
      ],
      {
        vectorOf: (sha256) => ({ a: [1], b: [2] })[sha256] ?? null,
        onMissing: (entity, sha256) => missing.push([entity, sha256]),
      },
    );
    expect(given).toEqual([[[2], [1]], []]);
    expect(missing).toEqual([[0, 'gone']]);
    expect(vectors).toEqual([[3], [5]]);
  });
});
