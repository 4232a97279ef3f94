/** Token states of a batch: row-major [batch, seq, dim], as ONNX models return them. */
export interface HiddenStates {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Per position of a [batch, seq] batch: non-zero for real tokens, zero for padding. */
export type AttentionMask = ArrayLike<number> | ArrayLike<bigint>;

function shapeOf(states: HiddenStates): [batch: number, sequence: number, dim: number] {
  const [batch, sequence, dim] = states.dims;
  if (states.dims.length !== 3 || batch === undefined || sequence === undefined || !dim) {
    throw new RangeError(`Expected [batch, seq, dim] states, got [${states.dims.join(', ')}]`);
  }
  if (states.data.length !== batch * sequence * dim) {
    throw new RangeError(
      `States of shape [${states.dims.join(', ')}] need ${batch * sequence * dim} values, got ${states.data.length}`,
    );
  }
  return [batch, sequence, dim];
}

/** The first token's state of each row ([CLS] for BERT models), copied. */
export function clsPool(states: HiddenStates): Float32Array[] {
  const [batch, sequence, dim] = shapeOf(states);
  if (sequence === 0) throw new RangeError('CLS pooling needs at least one token per row');
  return Array.from({ length: batch }, (_, row) => {
    const start = row * sequence * dim;
    return states.data.slice(start, start + dim);
  });
}

/**
 * The mean of each row's states over its real tokens; padding is left out, so a text pooled
 * alone and pooled in a padded batch agree. A row with no real token pools to zeros.
 */
export function meanPool(states: HiddenStates, attentionMask: AttentionMask): Float32Array[] {
  const [batch, sequence, dim] = shapeOf(states);
  if (attentionMask.length !== batch * sequence) {
    throw new RangeError(
      `Attention mask has ${attentionMask.length} values for a [${batch}, ${sequence}] batch`,
    );
  }
  return Array.from({ length: batch }, (_, row) => {
    // Sum in float64: hundreds of float32 additions lose digits the tests compare.
    const sum = new Float64Array(dim);
    let count = 0;
    for (let position = 0; position < sequence; position++) {
      if (!Number(attentionMask[row * sequence + position])) continue;
      count++;
      const start = (row * sequence + position) * dim;
      for (let feature = 0; feature < dim; feature++) {
        sum[feature] = (sum[feature] ?? 0) + (states.data[start + feature] ?? 0);
      }
    }
    const mean = new Float32Array(dim);
    if (count > 0) {
      for (let feature = 0; feature < dim; feature++) mean[feature] = (sum[feature] ?? 0) / count;
    }
    return mean;
  });
}

/** A copy of `vector` scaled to unit length; the zero vector stays zero. */
export function l2Normalize(vector: Float32Array): Float32Array {
  let squares = 0;
  for (const value of vector) squares += value * value;
  const norm = Math.sqrt(squares);
  const result = new Float32Array(vector.length);
  if (norm === 0) return result;
  for (let index = 0; index < vector.length; index++) result[index] = (vector[index] ?? 0) / norm;
  return result;
}
