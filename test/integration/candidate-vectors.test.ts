import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureNation, loadedBundle, readFixture, toDataUrl } from '../helpers/fixtures.js';
import { startTestApp, type TestApp } from '../helpers/test-app.js';

// The linker's candidate vectors need a bundle whose spec has a linker component. The tests skip
// only when the loaded bundle (POLYLINK_MODEL_DIR, else var/models/polylink-default) has none.
const { dir: bundleDir, hasLinker } = loadedBundle();

const REGISTER = `mutation ($input: EntityInput!) { registerEntity(input: $input) { status } }`;
const UPDATE = `mutation ($id: ID!, $patch: EntityPatch!) { updateEntity(id: $id, patch: $patch) { id } }`;
const STATUS = `{ encodingStatus { candidateEncoder staleCandidateVectors } }`;

interface StatusData {
  encodingStatus: { candidateEncoder: string | null; staleCandidateVectors: number };
}

function maxAbsDifference(a: readonly number[], b: readonly number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((value, index) => Math.abs(value - (b[index] ?? NaN))));
}

describe.skipIf(!hasLinker)(
  `candidate vectors (${hasLinker ? bundleDir : `skipped: the bundle at ${bundleDir} has no linker`})`,
  () => {
    let t: TestApp;
    const roman = fixtureNation('roman');
    const flag = readFixture(roman.images[0]!.path);
    const ids = { roman: '', plain: '', byHash: '' };

    async function stored(id: string) {
      const [row] = await t.graph.read('test.candidateVector', (tx) =>
        tx.query<{ vector: number[] | null; model: string | null }>(
          'MATCH (e:Entity {id: $id}) RETURN e.candidateVector AS vector, e.candidateModel AS model',
          { id },
        ),
      );
      return row ?? { vector: null, model: null };
    }

    async function status() {
      const result = await t.graphql<StatusData>(STATUS);
      expect(result.errors).toBeUndefined();
      return result.data!.encodingStatus;
    }

    async function register(input: Record<string, unknown>) {
      const result = await t.graphql(REGISTER, { input: { domain: t.domain, ...input } });
      expect(result.errors).toBeUndefined();
    }

    beforeAll(async () => {
      t = await startTestApp();
      ids.roman = `${t.prefix}roman`;
      ids.plain = `${t.prefix}no-image`;
      ids.byHash = `${t.prefix}roman-by-hash`;
      await register({
        id: ids.roman,
        name: roman.name,
        description: roman.description,
        images: [{ dataUrl: toDataUrl(flag) }],
      });
      await register({
        id: ids.plain,
        name: 'Atlantis',
        description: 'A legendary island swallowed by the sea in a single day and night.',
      });
    });

    afterAll(async () => {
      await t?.close();
    });

    it('stores a candidate vector and the linker fingerprint on every registered entity', async () => {
      const { candidateEncoder } = await status();
      expect(candidateEncoder).toMatch(/^linker:[0-9a-f]{16}$/);
      for (const id of [ids.roman, ids.plain]) {
        const { vector, model } = await stored(id);
        expect(vector).toHaveLength(192);
        expect(vector!.every(Number.isFinite)).toBe(true);
        expect(model).toBe(candidateEncoder);
      }
    });

    it('computes the same vector from an image given by its stored sha256 as from its bytes', async () => {
      const [image] = await t.graph.read('test.image', (tx) =>
        tx.query<{ sha256: string }>(
          'MATCH (:Entity {id: $id})-[:HAS_IMAGE]->(i:Image) RETURN i.sha256 AS sha256',
          { id: ids.roman },
        ),
      );
      await register({
        id: ids.byHash,
        name: roman.name,
        description: roman.description,
        images: [{ sha256: image!.sha256 }],
      });
      const byBytes = await stored(ids.roman);
      const byHash = await stored(ids.byHash);
      expect(maxAbsDifference(byHash.vector!, byBytes.vector!)).toBeLessThan(1e-6);
    });

    it('changes the vector when the description changes, and restores it with the description', async () => {
      const before = await stored(ids.roman);
      const changed = await t.graphql(UPDATE, {
        id: ids.roman,
        patch: { description: 'A small fishing village on a marshy river bank.' },
      });
      expect(changed.errors).toBeUndefined();
      const after = await stored(ids.roman);
      expect(after.model).toBe(before.model);
      expect(after.vector).toHaveLength(192);
      expect(maxAbsDifference(after.vector!, before.vector!)).toBeGreaterThan(1e-3);

      const restored = await t.graphql(UPDATE, {
        id: ids.roman,
        patch: { description: roman.description },
      });
      expect(restored.errors).toBeUndefined();
      expect(maxAbsDifference((await stored(ids.roman)).vector!, before.vector!)).toBeLessThan(
        1e-6,
      );
    });

    it('finds a vector of another linker stale and re-encodes it in the background', async () => {
      const before = await stored(ids.roman);
      await t.graph.write('test.staleCandidate', (tx) =>
        tx.query(
          "MATCH (e:Entity {id: $id}) SET e.candidateModel = 'linker:0000000000000000', e.candidateVector = [0.0]",
          { id: ids.roman },
        ),
      );
      expect((await status()).staleCandidateVectors).toBeGreaterThanOrEqual(1);
      const started = await t.graphql<{
        reencodeEntities: { state: string; total: number };
      }>('mutation { reencodeEntities(batchSize: 2) { state total } }');
      expect(started.errors).toBeUndefined();
      expect(started.data?.reencodeEntities.total).toBeGreaterThanOrEqual(1);
      let job = { state: started.data?.reencodeEntities.state, encodedCandidateVectors: 0 };
      for (let attempt = 0; attempt < 300 && job.state === 'RUNNING'; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const polled = await t.graphql<{
          encodingStatus: { job: { state: string; encodedCandidateVectors: number } };
        }>('{ encodingStatus { job { state encodedCandidateVectors } } }');
        job = polled.data!.encodingStatus.job;
      }
      expect(job.state).toBe('SUCCEEDED');
      expect(job.encodedCandidateVectors).toBeGreaterThanOrEqual(1);
      const after = await status();
      expect(after.staleCandidateVectors).toBe(0);
      const reencoded = await stored(ids.roman);
      expect(reencoded.model).toBe(after.candidateEncoder);
      expect(maxAbsDifference(reencoded.vector!, before.vector!)).toBeLessThan(1e-5);
    });

    it('encodes an entity without a candidate vector on the command-line path', async () => {
      const before = await stored(ids.plain);
      await t.graph.write('test.missingCandidate', (tx) =>
        tx.query('MATCH (e:Entity {id: $id}) REMOVE e.candidateModel, e.candidateVector', {
          id: ids.plain,
        }),
      );
      expect((await status()).staleCandidateVectors).toBeGreaterThanOrEqual(1);
      // What `polylink reencode` runs (src/cli/reencode.ts), on this app's services.
      const job = await t.app.services.encoding.run(8);
      expect(job.state).toBe('SUCCEEDED');
      expect(job.encodedCandidateVectors).toBeGreaterThanOrEqual(1);
      const after = await stored(ids.plain);
      expect(after.model).toBe(before.model);
      expect(maxAbsDifference(after.vector!, before.vector!)).toBeLessThan(1e-5);
      expect((await status()).staleCandidateVectors).toBe(0);
    });
  },
);
