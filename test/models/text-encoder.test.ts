import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOnnxRuntime, type OnnxRuntime } from '../../src/inference/runtime/onnx-runtime.js';
import {
  createTextEncoder,
  type TextEncoder,
  type TextEncoderConfig,
} from '../../src/inference/text/text-encoder.js';
import { createLogger } from '../../src/logger.js';

// The bundle's text model folder, holding model.onnx and tokenizer.json. The tests skip only
// when the folder is absent (no bundle assembled); a folder with missing files fails them.
const modelDir = process.env.POLYLINK_TEST_TEXT_MODEL_DIR ?? 'var/models/polylink-default/text';
const modelFile = path.join(modelDir, 'model.onnx');
const tokenizerFile = path.join(modelDir, 'tokenizer.json');
const bundlePresent = existsSync(modelDir);

// The default chosen by bench/select-text-encoder.ts (see bench/results/text-encoder-selection.md).
// bge-small-en-v1.5 (quantized), the default chosen by bench/select-text-encoder.ts: [CLS]
// pooling, its retrieval instruction on queries only, and batch size 1 because dynamic
// quantization would make vectors depend on their batch.
const CHOSEN_TEXT_ENCODER = {
  pooling: 'cls',
  maxLength: 512,
  queryPrefix: 'Represent this sentence for searching relevant passages: ',
  passagePrefix: '',
  dimension: 384,
  batchSize: 1,
} as const;

type EncoderSettings = Omit<TextEncoderConfig, 'modelFile' | 'tokenizerFile'>;

/** The settings the bundle's manifest gives its text component, else the chosen default. */
function bundleSettings(): EncoderSettings {
  const manifestFile = path.join(modelDir, '..', 'manifest.json');
  if (!existsSync(manifestFile)) return CHOSEN_TEXT_ENCODER;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    components?: { text?: { config?: Partial<EncoderSettings> } };
  };
  const config = manifest.components?.text?.config;
  if (config?.pooling !== 'cls' && config?.pooling !== 'mean') return CHOSEN_TEXT_ENCODER;
  return { ...CHOSEN_TEXT_ENCODER, ...config };
}

// Three real Freeciv nations (freeciv-data 3.0.6, GPL-2+), legends as the seed writes them.
const NATIONS = [
  {
    name: 'Ålander',
    description:
      "Åland is an archipelago in the Baltic Sea, located between Sweden and Finland. The islands' inhabitants are Swedish speaking, but Åland is an autonomous province in Finland, a status that was reached in 1921 after a long period in which the islands were contested between Sweden and Finland. Åland's special and demilitarized status is protected by international law.",
    paraphrase:
      'A group of self-governing Finnish islands between two Nordic countries, where people speak Swedish and no army may be stationed.',
  },
  {
    name: 'American',
    description:
      'The United States of America achieved its independence from Great Britain after a revolution in 1776-1783 CE. Its constitution was proclaimed in 1789, making the country one of the first modern representative republics. The United States then started to expand its territory, first on the North American mainland and later also overseas. By the 20th century the country had become a world superpower; its cultural, economic and political influence on the rest of the world is enormous.',
    paraphrase:
      'A former British colony that won a war of independence in the eighteenth century, grew across a continent and became the dominant power of the modern world.',
  },
  {
    name: 'East German',
    description:
      'The German Democratic Republic was founded in the Soviet Occupation Zone of postwar Germany in 1949. It was part of the Soviet dominated eastern bloc during the Cold War. The GDR was known for the Berlin Wall and its vast internal security apparatus, the Stasi. In 1989 the communist regime collapsed and one year later it was annexed to the Federal Republic of Germany.',
    paraphrase:
      'A socialist state set up by the Soviets after the Second World War, famous for its secret police and the wall that divided its capital, until it was absorbed by its western neighbour.',
  },
] as const;

const passages = NATIONS.map((nation) => `${nation.name}. ${nation.description}`);

function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += (a[index] ?? 0) * (b[index] ?? 0);
  return sum;
}

function maxAbsDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let index = 0; index < a.length; index++) {
    max = Math.max(max, Math.abs((a[index] ?? 0) - (b[index] ?? 0)));
  }
  return max;
}

describe.skipIf(!bundlePresent)(
  `text encoder (${bundlePresent ? modelDir : `skipped: no text model folder ${modelDir}; assemble the bundle or set POLYLINK_TEST_TEXT_MODEL_DIR`})`,
  () => {
    const settings = bundleSettings();
    let runtime: OnnxRuntime;
    let encoder: TextEncoder;

    beforeAll(async () => {
      runtime = createOnnxRuntime({
        executionProvider: 'cpu',
        intraOpThreads: 0,
        interOpThreads: 1,
        logger: createLogger('warn'),
      });
      encoder = await createTextEncoder(runtime, {
        name: 'text',
        ...settings,
        modelFile,
        tokenizerFile,
      });
    });

    afterAll(async () => {
      await runtime?.close();
    });

    it('returns one L2-normalised vector of the configured dimension per text', async () => {
      const { pooled } = await encoder.encode([...passages, 'French'], 'passage');
      expect(pooled).toHaveLength(4);
      for (const vector of pooled) {
        expect(vector).toBeInstanceOf(Float32Array);
        expect(vector).toHaveLength(settings.dimension);
        expect(Math.sqrt(dot(vector, vector))).toBeCloseTo(1, 5);
      }
    });

    it('ranks the paraphrase of a legend above the unrelated legends', async () => {
      const documents = (await encoder.encode(passages, 'passage')).pooled;
      const queries = (
        await encoder.encode(
          NATIONS.map((nation) => nation.paraphrase),
          'query',
        )
      ).pooled;
      queries.forEach((query, index) => {
        const scores = documents.map((document) => dot(query, document));
        const best = scores.indexOf(Math.max(...scores));
        expect(NATIONS[best]?.name, `paraphrase of ${NATIONS[index]?.name}`).toBe(
          NATIONS[index]?.name,
        );
      });
    });

    it('gives token offsets that point at each token in the text', async () => {
      const text = 'The GDR was known for the Berlin Wall and the Stasi.';
      const { ids, tokens, offsets, fromText, states, dims } = await encoder.encodeTokens(
        text,
        'query',
      );
      expect(dims).toEqual([ids.length, settings.dimension]);
      expect(states).toHaveLength(ids.length * settings.dimension);
      expect(tokens).toHaveLength(ids.length);
      expect(offsets).toHaveLength(ids.length);
      // [CLS], the query prefix and [SEP] are not from the text.
      expect(fromText[0]).toBe(false);
      expect(fromText.at(-1)).toBe(false);
      const fromTextCount = fromText.filter(Boolean).length;
      expect(fromTextCount).toBeGreaterThanOrEqual(12); // 11 words and the full stop
      tokens.forEach((token, index) => {
        if (!fromText[index]) return;
        const [start, end] = offsets[index]!;
        // The model is uncased: the token is the lower-cased surface, "##" marks a word piece.
        expect(text.slice(start, end).toLowerCase()).toBe(token.replace(/^##/, ''));
      });
      const words = offsets
        .filter((_, index) => fromText[index] && !tokens[index]!.startsWith('##'))
        .map(([start]) => text.slice(start).split(/[\s.]/)[0] || '.');
      expect(words).toEqual(text.replace('.', ' .').split(' '));
    });

    it('maps accented text and word pieces back to the original characters', async () => {
      const text = 'Åland’s demilitarized status';
      const { offsets, fromText } = await encoder.encodeTokens(text);
      const spans = offsets.filter((_, index) => fromText[index]);
      for (let index = 1; index < spans.length; index++) {
        expect(spans[index]![0]).toBeGreaterThanOrEqual(spans[index - 1]![1]);
      }
      expect(spans[0]?.[0]).toBe(0);
      expect(spans.at(-1)?.[1]).toBe(text.length);
      expect(spans.map(([start, end]) => text.slice(start, end)).join('')).toBe(
        text.replaceAll(' ', ''),
      );
    });

    it('gives a text the same vector alone and encoded with others', async () => {
      const texts = [...passages, 'French'];
      const batched = (await encoder.encode(texts, 'passage')).pooled;
      for (const [index, text] of texts.entries()) {
        const [alone] = (await encoder.encode([text], 'passage')).pooled;
        expect(maxAbsDifference(alone!, batched[index]!)).toBeLessThan(1e-4);
      }
    });

    it('keeps token states consistent with the pooled vector', async () => {
      const text = passages[2]!;
      const tokens = await encoder.encodeTokens(text, 'passage');
      const [pooled] = (await encoder.encode([text], 'passage')).pooled;
      const [length, dim] = tokens.dims;
      const summary = new Float32Array(dim);
      const rows = settings.pooling === 'cls' ? 1 : length;
      for (let row = 0; row < rows; row++) {
        for (let feature = 0; feature < dim; feature++) {
          summary[feature]! += tokens.states[row * dim + feature]! / rows;
        }
      }
      const norm = Math.sqrt(dot(summary, summary));
      expect(
        maxAbsDifference(
          summary.map((value) => value / norm),
          pooled!,
        ),
      ).toBeLessThan(1e-4);
    });
  },
);
