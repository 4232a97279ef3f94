/**
 * A one-node ONNX model written as protobuf bytes here, so that the row scorers' tiny graphs need
 * neither a model file in the bundle nor the Python `onnx` package to make. Only the fields such a
 * graph uses: ModelProto.ir_version (1), graph (7), opset_import (8); GraphProto.node (1),
 * name (2), input (11), output (12); NodeProto.input (1), output (2), op_type (4); ValueInfoProto
 * name (1), type (2); TypeProto.tensor_type (1) with elem_type (1) and shape (2), whose dims are
 * dim_value (1) or dim_param (2) (onnx/onnx.proto3).
 */

/** ONNX TensorProto.DataType values of the element types the scorers use. */
export const OnnxElementType = { float: 1, uint8: 2, int8: 3, int32: 6 } as const;

export interface OnnxValue {
  readonly name: string;
  readonly type: (typeof OnnxElementType)[keyof typeof OnnxElementType];
  /** A number: a fixed size; a string: a symbolic dimension. */
  readonly shape: readonly (number | string)[];
}

export interface OnnxNodeGraph {
  readonly opType: string;
  readonly opset: number;
  readonly inputs: readonly OnnxValue[];
  readonly outputs: readonly OnnxValue[];
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

const intField = (field: number, value: number) => [...varint(field << 3), ...varint(value)];
const bytesField = (field: number, bytes: readonly number[]) => [
  ...varint((field << 3) | 2),
  ...varint(bytes.length),
  ...bytes,
];
const stringField = (field: number, text: string) =>
  bytesField(field, [...Buffer.from(text, 'utf8')]);

function valueInfo(value: OnnxValue): number[] {
  const dims = value.shape.flatMap((dim) =>
    bytesField(1, typeof dim === 'number' ? intField(1, dim) : stringField(2, dim)),
  );
  const tensorType = [...intField(1, value.type), ...bytesField(2, dims)];
  return [...stringField(1, value.name), ...bytesField(2, bytesField(1, tensorType))];
}

/** The model: one node of `opType` over the graph inputs in order, IR version 8. */
export function oneNodeModel(graph: OnnxNodeGraph): Uint8Array {
  const node = [
    ...graph.inputs.flatMap((input) => stringField(1, input.name)),
    ...graph.outputs.flatMap((output) => stringField(2, output.name)),
    ...stringField(4, graph.opType),
  ];
  const body = [
    ...bytesField(1, node),
    ...stringField(2, graph.opType.toLowerCase()),
    ...graph.inputs.flatMap((input) => bytesField(11, valueInfo(input))),
    ...graph.outputs.flatMap((output) => bytesField(12, valueInfo(output))),
  ];
  const opset = [...stringField(1, ''), ...intField(2, graph.opset)];
  return Uint8Array.from([...intField(1, 8), ...bytesField(7, body), ...bytesField(8, opset)]);
}
