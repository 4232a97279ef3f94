import { clsPool, l2Normalize, meanPool } from './pooling.js';
import {
  InferenceError,
  type ModelSession,
  type OnnxRuntime,
  type Tensor,
} from '../runtime/onnx-runtime.js';
import {
  loadTokenizer,
  type CharSpan,
  type EncodedBatch,
  type EncodedText,
  type TextTokenizer,
} from './tokenizer.js';

export type TextPooling = 'cls' | 'mean';

/** Queries (mentions, questions) and passages (entity descriptions) may be prefixed differently. */
export type TextKind = 'query' | 'passage';

export interface TextEncoderConfig {
  /** A BERT-style ONNX model: int64 input_ids / attention_mask / token_type_ids [batch, seq]. */
  readonly modelFile: string;
  /** Its Hugging Face tokenizer.json. */
  readonly tokenizerFile: string;
  /** Longest input in tokens, special tokens included; longer texts are truncated. */
  readonly maxLength: number;
  /** How token states become one vector: the first ([CLS]) token or the masked mean. */
  readonly pooling: TextPooling;
  /** Put before queries (e5: "query: "; bge: its optional retrieval instruction). */
  readonly queryPrefix?: string;
  /** Put before passages (e5: "passage: "). */
  readonly passagePrefix?: string;
  /** Width of the model's states; checked against the model when it is loaded. */
  readonly dimension: number;
  /**
   * Texts per model run; bounds memory (states are batch × seq × dimension floats). Use 1 for
   * dynamically quantized models: they quantize activations with one scale per run, so a text's
   * vector would otherwise depend on the texts batched with it.
   */
  readonly batchSize?: number;
  /** Name of the model in logs and errors. */
  readonly name?: string;
}

/** Token-level states of one text, for encoders that attend over tokens. */
export interface TokenStates {
  /** Token ids, special tokens included (no padding). */
  readonly ids: readonly number[];
  /** Row-major [ids.length, dimension]. */
  readonly states: Float32Array;
  readonly dims: readonly [number, number];
  readonly truncated: boolean;
}

export interface TokenStatesWithOffsets extends TokenStates {
  /** The tokenizer's token strings ("##" marks a WordPiece continuation). */
  readonly tokens: readonly string[];
  /** Per token, its [start, end) character span in the text; [0, 0] when `fromText` is false. */
  readonly offsets: readonly CharSpan[];
  /** False for special tokens and tokens of the query/passage prefix. */
  readonly fromText: readonly boolean[];
}

export interface EncodedTexts {
  /** One L2-normalised vector per text, in input order. */
  readonly pooled: Float32Array[];
  /** Per text, its token states (no offsets); present when asked for with `withTokens`. */
  readonly tokens?: TokenStates[];
}

export interface EncodeOptions {
  readonly withTokens?: boolean;
  /** Overrides the configured batch size for this call. */
  readonly batchSize?: number;
}

/** Per-call settings of `encodeTokens`. */
export interface TokenOptions {
  /** Truncate to fewer tokens than the encoder's `maxLength` (special tokens included). */
  readonly maxLength?: number;
  /** Put before the text instead of the kind's configured prefix ('' for none). */
  readonly prefix?: string;
}

export interface TextEncoder {
  readonly name: string;
  readonly dimension: number;
  readonly maxLength: number;
  readonly pooling: TextPooling;
  encode(texts: readonly string[], kind: TextKind, options?: EncodeOptions): Promise<EncodedTexts>;
  /**
   * One text's token states with character offsets (the kind's prefix, or `options.prefix`, is
   * added, not mapped). A shorter `options.maxLength` truncates before the model runs, so the
   * states are those of the truncated text, as an encoder built with that `maxLength` gives.
   */
  encodeTokens(
    text: string,
    kind?: TextKind,
    options?: TokenOptions,
  ): Promise<TokenStatesWithOffsets>;
  release(): Promise<void>;
}

const DEFAULT_BATCH_SIZE = 16;

const INPUT_FEEDS: Readonly<Record<string, (batch: EncodedBatch) => Tensor>> = {
  input_ids: (batch) => batch.inputIds,
  attention_mask: (batch) => batch.attentionMask,
  token_type_ids: (batch) => batch.tokenTypeIds,
};

function validate(config: TextEncoderConfig): void {
  if (config.pooling !== 'cls' && config.pooling !== 'mean') {
    throw new InferenceError(`Unknown text pooling "${String(config.pooling)}"`);
  }
  if (!Number.isInteger(config.dimension) || config.dimension <= 0) {
    throw new InferenceError(`Text encoder dimension must be a positive integer`);
  }
  const batchSize = config.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize <= 0) {
    throw new InferenceError(`Text encoder batchSize must be a positive integer`);
  }
}

/**
 * Loads a sentence encoder (tokenizer + ONNX model) and checks, with one tiny run, that the
 * model takes the inputs we feed and returns states of `config.dimension`.
 */
export async function createTextEncoder(
  runtime: OnnxRuntime,
  config: TextEncoderConfig,
): Promise<TextEncoder> {
  validate(config);
  const name = config.name ?? 'text-encoder';
  const batchSize = config.batchSize ?? DEFAULT_BATCH_SIZE;
  const tokenizer: TextTokenizer = await loadTokenizer(config.tokenizerFile, {
    maxLength: config.maxLength,
  });
  const session: ModelSession = await runtime.load(name, config.modelFile);
  const unknownInput = session.inputNames.find((input) => !(input in INPUT_FEEDS));
  if (unknownInput !== undefined) {
    await session.release();
    throw new InferenceError(`Model "${name}" wants input "${unknownInput}", which we cannot feed`);
  }
  const prefixOf = (kind: TextKind) =>
    (kind === 'query' ? config.queryPrefix : config.passagePrefix) ?? '';

  /** Runs one padded batch; returns its [batch, seq, dim] states. */
  async function run(batch: EncodedBatch): Promise<{ data: Float32Array; dims: number[] }> {
    const feeds = Object.fromEntries(
      session.inputNames.map((input) => [input, INPUT_FEEDS[input]!(batch)]),
    );
    const outputs = await session.run(feeds);
    const output =
      outputs.last_hidden_state ??
      Object.values(outputs).find((tensor) => tensor.dims.length === 3);
    if (!output || !(output.data instanceof Float32Array)) {
      throw new InferenceError(`Model "${name}" returned no float32 [batch, seq, dim] states`);
    }
    const [rows, sequence, dim] = output.dims;
    if (rows !== batch.batchSize || sequence !== batch.sequenceLength) {
      throw new InferenceError(
        `Model "${name}" returned states [${output.dims.join(', ')}] for a [${batch.batchSize}, ${batch.sequenceLength}] batch`,
      );
    }
    if (dim !== config.dimension) {
      throw new InferenceError(
        `Model "${name}" has dimension ${dim}, but the configuration says ${config.dimension}`,
      );
    }
    return { data: output.data, dims: [...output.dims] };
  }

  function tokenStatesOf(
    states: { data: Float32Array; dims: number[] },
    row: number,
    encoded: EncodedText,
  ): TokenStates {
    const sequence = states.dims[1] ?? 0;
    const start = row * sequence * config.dimension;
    return {
      ids: encoded.ids,
      states: states.data.slice(start, start + encoded.ids.length * config.dimension),
      dims: [encoded.ids.length, config.dimension],
      truncated: encoded.truncated,
    };
  }

  try {
    await run(tokenizer.encodeBatch(['']));
  } catch (error) {
    await session.release();
    throw error;
  }

  return {
    name,
    dimension: config.dimension,
    maxLength: config.maxLength,
    pooling: config.pooling,

    async encode(texts, kind, options = {}) {
      const prefix = prefixOf(kind);
      const runSize = options.batchSize ?? batchSize;
      if (!Number.isInteger(runSize) || runSize <= 0) {
        throw new InferenceError(`batchSize must be a positive integer, got ${runSize}`);
      }
      const encoded = texts.map((text) => tokenizer.encode(prefix + text));
      // Batching texts of similar length wastes less compute on padding; order is restored.
      const order = encoded.map((_, index) => index);
      order.sort((a, b) => (encoded[a]?.ids.length ?? 0) - (encoded[b]?.ids.length ?? 0));
      const pooled: Float32Array[] = new Array<Float32Array>(texts.length);
      const tokens: TokenStates[] = new Array<TokenStates>(texts.length);
      for (let first = 0; first < order.length; first += runSize) {
        const indices = order.slice(first, first + runSize);
        const rows = indices.map((index) => encoded[index]!);
        const batch = tokenizer.toBatch(rows);
        const states = await run(batch);
        const vectors =
          config.pooling === 'cls' ? clsPool(states) : meanPool(states, batch.attentionMask.data);
        indices.forEach((index, row) => {
          pooled[index] = l2Normalize(vectors[row]!);
          if (options.withTokens) tokens[index] = tokenStatesOf(states, row, rows[row]!);
        });
      }
      return options.withTokens ? { pooled, tokens } : { pooled };
    },

    async encodeTokens(text, kind = 'passage', options = {}) {
      const encoded = tokenizer.encodeWithOffsets(
        text,
        options.prefix ?? prefixOf(kind),
        options.maxLength,
      );
      const states = await run(tokenizer.toBatch([encoded]));
      return {
        ...tokenStatesOf(states, 0, encoded),
        tokens: encoded.tokens,
        offsets: encoded.offsets,
        fromText: encoded.fromText,
      };
    },

    release: () => session.release(),
  };
}
