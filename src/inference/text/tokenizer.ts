import { readFile } from 'node:fs/promises';
import { Tokenizer as UntypedTokenizer } from '@huggingface/tokenizers';
import { InferenceError, type Tensor } from '../runtime/onnx-runtime.js';

/**
 * The part of @huggingface/tokenizers' Tokenizer used here. The package's own .d.ts files use
 * extensionless relative imports, which NodeNext resolution cannot follow (the class would be
 * `any`), so its shape is restated from types/core/Tokenizer.d.ts of version 0.2.0.
 */
interface LibraryTokenizer {
  readonly normalizer: ((text: string) => string) | null;
  readonly post_processor:
    | ((
        tokens: string[],
        pair: string[] | null,
        addSpecialTokens: boolean,
      ) => { tokens: string[]; token_type_ids?: number[] })
    | null;
  tokenize(text: string, options: { add_special_tokens: boolean }): string[];
  token_to_id(token: string): number | undefined;
}
const Tokenizer = UntypedTokenizer as unknown as new (
  tokenizerJson: object,
  tokenizerConfig: object,
) => LibraryTokenizer;

/** One text as the model sees it: special tokens added, truncated, not padded. */
export interface EncodedText {
  readonly ids: readonly number[];
  readonly tokenTypeIds: readonly number[];
  readonly tokens: readonly string[];
  /** True when tokens past `maxLength` were dropped. */
  readonly truncated: boolean;
}

/** Character span [start, end) in the caller's text; [0, 0] for tokens not taken from it. */
export type CharSpan = readonly [start: number, end: number];

export interface EncodedTextWithOffsets extends EncodedText {
  /** Per token, its span in the text passed to `encodeWithOffsets` (prefix excluded). */
  readonly offsets: readonly CharSpan[];
  /** Per token: false for special tokens ([CLS], [SEP]) and tokens of the prefix. */
  readonly fromText: readonly boolean[];
}

/** A padded batch, ready to feed a BERT-style ONNX model. */
export interface EncodedBatch {
  /** int64 [batch, seq] */
  readonly inputIds: Tensor;
  /** int64 [batch, seq]: 1 for real tokens, 0 for padding. */
  readonly attentionMask: Tensor;
  /** int64 [batch, seq] */
  readonly tokenTypeIds: Tensor;
  readonly batchSize: number;
  /** The longest row's token count; shorter rows are padded to it. */
  readonly sequenceLength: number;
  /** Real (unpadded) token count of each row. */
  readonly lengths: readonly number[];
  readonly rows: readonly EncodedText[];
}

export interface TextTokenizer {
  /** Longest sequence produced, special tokens included. */
  readonly maxLength: number;
  readonly padId: number;
  /** `maxLength`, when given, truncates shorter than the tokenizer's own (never longer). */
  encode(text: string, maxLength?: number): EncodedText;
  /** Encodes each text, truncates to `maxLength` and pads to the longest row. */
  encodeBatch(texts: readonly string[]): EncodedBatch;
  /**
   * Encodes `prefix + text` and gives every token its character span in `text`.
   * @huggingface/tokenizers returns no offsets, so they are recovered by aligning the tokens
   * with the normalised text (see `alignTokens`).
   */
  encodeWithOffsets(text: string, prefix?: string, maxLength?: number): EncodedTextWithOffsets;
  /** Packs already-encoded rows into a padded batch (rows must fit `maxLength`). */
  toBatch(rows: readonly EncodedText[]): EncodedBatch;
}

export interface TokenizerOptions {
  readonly maxLength: number;
}

/** The parts of tokenizer.json this module reads itself (the library reads the rest). */
interface TokenizerJson {
  readonly model: {
    readonly type?: string;
    readonly continuing_subword_prefix?: string;
    readonly unk_token?: string;
  };
  readonly added_tokens?: readonly { readonly content: string; readonly special?: boolean }[];
  readonly padding?: { readonly pad_id?: number; readonly pad_token?: string } | null;
}

function isTokenizerJson(value: unknown): value is TokenizerJson {
  if (typeof value !== 'object' || value === null) return false;
  const model = (value as { model?: unknown }).model;
  return typeof model === 'object' && model !== null;
}

/** Reads a Hugging Face `tokenizer.json`. */
export async function loadTokenizer(
  file: string,
  options: TokenizerOptions,
): Promise<TextTokenizer> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new InferenceError(`Cannot read tokenizer ${file}`, error);
  }
  return createTokenizer(json, options);
}

/** Builds a tokenizer from the parsed contents of a `tokenizer.json`. */
export function createTokenizer(json: unknown, options: TokenizerOptions): TextTokenizer {
  if (!isTokenizerJson(json)) {
    throw new InferenceError('tokenizer.json has no "model" section');
  }
  let library: LibraryTokenizer;
  try {
    // The second argument is tokenizer_config.json; the langchain4j jars ship none, and
    // nothing in it matters for BERT WordPiece tokenizers.
    library = new Tokenizer(
      {
        decoder: null,
        post_processor: null,
        pre_tokenizer: null,
        normalizer: null,
        added_tokens: [],
        ...json,
      },
      {},
    );
  } catch (error) {
    throw new InferenceError('Cannot build the tokenizer from tokenizer.json', error);
  }
  const postProcessor = library.post_processor;
  const normalizer = library.normalizer;

  // Where the text sits among the special tokens the post-processor adds ([CLS] text [SEP]).
  const probe = '\u0000probe\u0000';
  const probed = postProcessor ? postProcessor([probe], null, true).tokens : [probe];
  const specialsBefore = probed.indexOf(probe);
  const specialsAfter = probed.length - specialsBefore - 1;
  const specialCount = specialsBefore + specialsAfter;
  if (!Number.isInteger(options.maxLength) || options.maxLength <= specialCount) {
    throw new InferenceError(
      `maxLength must be an integer above ${specialCount} (the special tokens), got ${options.maxLength}`,
    );
  }
  // tokenizer.json's own truncation and padding sections are ignored (the library does not
  // apply them either): rows are cut to `maxLength` here and padded to the longest in a batch.
  const maxContentTokens = options.maxLength - specialCount;

  /** Content tokens kept under a per-call `maxLength` (at most the tokenizer's own). */
  function contentLimit(maxLength: number | undefined): number {
    if (maxLength === undefined) return maxContentTokens;
    if (
      !Number.isInteger(maxLength) ||
      maxLength <= specialCount ||
      maxLength > options.maxLength
    ) {
      throw new InferenceError(
        `maxLength must be an integer in (${specialCount}, ${options.maxLength}], got ${maxLength}`,
      );
    }
    return maxLength - specialCount;
  }

  const unkToken = json.model.unk_token;
  const unkId = unkToken === undefined ? undefined : library.token_to_id(unkToken);
  const padToken = json.padding?.pad_token ?? '[PAD]';
  const padId = json.padding?.pad_id ?? library.token_to_id(padToken) ?? 0;
  const subwordPrefix =
    json.model.type === 'WordPiece' ? (json.model.continuing_subword_prefix ?? '##') : '';
  const addedTokens = new Set((json.added_tokens ?? []).map((token) => token.content));

  function toId(token: string): number {
    const id = library.token_to_id(token) ?? unkId;
    if (id === undefined) throw new InferenceError(`Token "${token}" is not in the vocabulary`);
    return id;
  }

  /**
   * The text's tokens without special tokens, enough of them to fill `maxLength`: a long text is
   * tokenized by growing heads cut at whitespace (a whitespace cut splits no word, so the head's
   * tokens begin the text's tokens), which bounds the work a huge input costs.
   */
  function contentTokensOf(text: string, keep: number): { tokens: string[]; head: string } {
    for (let limit = keep * 8; ; limit *= 4) {
      if (text.length <= limit) {
        return { tokens: library.tokenize(text, { add_special_tokens: false }), head: text };
      }
      const cut = text.slice(0, limit).search(/\s\S*$/u);
      if (cut <= 0) continue;
      const head = text.slice(0, cut);
      const tokens = library.tokenize(head, { add_special_tokens: false });
      if (tokens.length > keep) return { tokens, head };
    }
  }

  function finish(
    contentTokens: readonly string[],
    keep: number,
  ): EncodedText & { contentCount: number } {
    const truncated = contentTokens.length > keep;
    const kept = truncated ? contentTokens.slice(0, keep) : [...contentTokens];
    const processed = postProcessor ? postProcessor(kept, null, true) : { tokens: kept };
    const tokens = processed.tokens;
    const tokenTypeIds = processed.token_type_ids ?? tokens.map(() => 0);
    return { ids: tokens.map(toId), tokenTypeIds, tokens, truncated, contentCount: kept.length };
  }

  function encode(text: string, maxLength?: number): EncodedText {
    const keep = contentLimit(maxLength);
    const { ids, tokenTypeIds, tokens, truncated } = finish(
      contentTokensOf(text, keep).tokens,
      keep,
    );
    return { ids, tokenTypeIds, tokens, truncated };
  }

  function toBatch(rows: readonly EncodedText[]): EncodedBatch {
    const lengths = rows.map((row) => row.ids.length);
    const sequenceLength = Math.max(0, ...lengths);
    if (sequenceLength > options.maxLength) {
      throw new InferenceError(`A row has ${sequenceLength} tokens, above ${options.maxLength}`);
    }
    const size = rows.length * sequenceLength;
    const ids = new BigInt64Array(size).fill(BigInt(padId));
    const mask = new BigInt64Array(size);
    const types = new BigInt64Array(size);
    rows.forEach((row, rowIndex) => {
      const base = rowIndex * sequenceLength;
      row.ids.forEach((id, position) => {
        ids[base + position] = BigInt(id);
        mask[base + position] = 1n;
        types[base + position] = BigInt(row.tokenTypeIds[position] ?? 0);
      });
    });
    const dims = [rows.length, sequenceLength] as const;
    return {
      inputIds: { type: 'int64', data: ids, dims },
      attentionMask: { type: 'int64', data: mask, dims },
      tokenTypeIds: { type: 'int64', data: types, dims },
      batchSize: rows.length,
      sequenceLength,
      lengths,
      rows,
    };
  }

  return {
    maxLength: options.maxLength,
    padId,
    encode,
    encodeBatch: (texts) => toBatch(texts.map((text) => encode(text))),
    toBatch,
    encodeWithOffsets(text, prefix = '', maxLength) {
      const keep = contentLimit(maxLength);
      const full = prefix + text;
      const { tokens: contentTokens, head } = contentTokensOf(full, keep);
      // Only the tokens that survive truncation need spans, and they all lie in the head.
      const spans = alignTokens(head, contentTokens.slice(0, keep), {
        normalize: normalizer ? (value) => normalizer(value) : (value) => value,
        subwordPrefix,
        addedTokens,
        unkToken,
      });
      const encoded = finish(contentTokens, keep);
      const offsets: CharSpan[] = [];
      const fromText: boolean[] = [];
      for (let index = 0; index < encoded.tokens.length; index++) {
        const contentIndex = index - specialsBefore;
        const span = contentIndex < encoded.contentCount ? spans[contentIndex] : undefined;
        if (span === undefined || span[1] <= prefix.length) {
          offsets.push([0, 0]);
          fromText.push(false);
        } else {
          offsets.push([Math.max(0, span[0] - prefix.length), span[1] - prefix.length]);
          fromText.push(true);
        }
      }
      const { ids, tokenTypeIds, tokens, truncated } = encoded;
      return { ids, tokenTypeIds, tokens, truncated, offsets, fromText };
    },
  };
}

export interface AlignmentOptions {
  /** The tokenizer's normaliser; applied to one character at a time. */
  readonly normalize: (text: string) => string;
  /** "##" for WordPiece: stripped from continuation tokens before matching. */
  readonly subwordPrefix: string;
  /** Added tokens ([CLS], [MASK]...) are matched by their normalised content. */
  readonly addedTokens: ReadonlySet<string>;
  readonly unkToken: string | undefined;
}

// BertPreTokenizer's word boundaries: whitespace, and every punctuation character on its own.
const PUNCTUATION = /[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]/u;
const WHITESPACE = /\s/u;

/**
 * Character spans of `tokens` (content tokens, no specials) in `text`.
 *
 * The text is normalised one code point at a time, remembering which original code point each
 * normalised character came from; each token's surface form is then found in that stream,
 * left to right. A per-character normaliser (BERT's: clean-up, lower-casing, accent stripping,
 * CJK spacing) gives the same characters as normalising the whole text, so WordPiece tokens
 * match exactly (the whole-text result is preferred when it has the same length, for rules such
 * as Greek final sigma). [UNK] covers one pre-tokenizer word; a token that cannot be found (which a
 * context-dependent normaliser could cause) gets an empty span at the current position.
 */
export function alignTokens(
  text: string,
  tokens: readonly string[],
  options: AlignmentOptions,
): CharSpan[] {
  let stream = '';
  const sourceStart: number[] = [];
  const sourceEnd: number[] = [];
  for (let index = 0; index < text.length;) {
    const codePoint = text.codePointAt(index) ?? 0;
    const width = codePoint > 0xffff ? 2 : 1;
    const normalised = options.normalize(text.slice(index, index + width));
    for (let unit = 0; unit < normalised.length; unit++) {
      sourceStart.push(index);
      sourceEnd.push(index + width);
    }
    stream += normalised;
    index += width;
  }
  // Context-dependent rules (Greek final sigma) differ between the per-character and the
  // whole-text result without changing lengths; the whole text is what the tokens came from.
  const wholeText = options.normalize(text);
  if (wholeText.length === stream.length) stream = wholeText;

  const spans: CharSpan[] = [];
  let cursor = 0;
  const skipWhitespace = () => {
    while (cursor < stream.length && WHITESPACE.test(stream[cursor] ?? '')) cursor++;
  };
  const spanOf = (from: number, to: number): CharSpan => {
    const start = sourceStart[from] ?? text.length;
    return to > from ? [start, sourceEnd[to - 1] ?? start] : [start, start];
  };

  for (const token of tokens) {
    skipWhitespace();
    if (token === options.unkToken) {
      const start = cursor;
      if (PUNCTUATION.test(stream[cursor] ?? '')) {
        cursor++;
      } else {
        while (
          cursor < stream.length &&
          !WHITESPACE.test(stream[cursor] ?? '') &&
          !PUNCTUATION.test(stream[cursor] ?? '')
        ) {
          cursor++;
        }
      }
      spans.push(spanOf(start, cursor));
      continue;
    }
    let surface = token;
    if (options.addedTokens.has(token)) {
      surface = options.normalize(token);
    } else if (options.subwordPrefix && token.startsWith(options.subwordPrefix)) {
      surface = token.slice(options.subwordPrefix.length);
    }
    const found = stream.startsWith(surface, cursor) ? cursor : stream.indexOf(surface, cursor);
    if (surface.length === 0 || found < 0) {
      spans.push(spanOf(cursor, cursor));
      continue;
    }
    cursor = found + surface.length;
    spans.push(spanOf(found, cursor));
  }
  return spans;
}
