/**
 * A small builder for ONNX graphs: named values, nodes of standard (ai.onnx) or contrib (com.microsoft) ops,
 * graph inputs/outputs with symbolic dims, small constants held in memory, and large initializers whose bytes are
 * produced later, one at a time, by the writer (./writer.ts) so a model never has to sit in memory whole.
 * The messages are the official onnx.proto ones (./onnx-pb.js, generated with protobufjs). Browser-safe.
 */
import { onnx } from './onnx-pb.js';

export type OnnxDtype = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'bool';

/** TensorProto.DataType numbers. */
export const ONNX_DTYPE: Record<OnnxDtype, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

export const DTYPE_BYTES: Record<OnnxDtype, number> = {
  float32: 4,
  float16: 2,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

/** A dimension: a fixed size or a symbolic name ("batch_size", "past_sequence_length"). */
export type Dim = number | string;

export type AttrValue = number | string | number[] | { floats: number[] } | { float: number };

/** A large tensor whose bytes come later, in graph order (see writer.ts). */
export interface LazyInitializer {
  name: string;
  dtype: OnnxDtype;
  dims: number[];
  /** Exactly the byte length of dims × DTYPE_BYTES (uint8 for packed 4-bit data). */
  byteLength: number;
}

export const CONTRIB_DOMAIN = 'com.microsoft';

function typeProto(dtype: OnnxDtype, dims: readonly Dim[]): onnx.TypeProto.$Properties {
  return {
    tensor_type: {
      elem_type: ONNX_DTYPE[dtype],
      shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
    },
  };
}

function attribute(name: string, v: AttrValue): onnx.AttributeProto.$Properties {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}: ${v} is not an integer (use { float })`);
    return { name, type: T.INT, i: v };
  }
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.FLOAT, f: v.float };
}

/** Little-endian bytes of a small typed array (the platform is little-endian everywhere this runs). */
function bytesOf(values: ArrayBufferView): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice();
}

export class GraphBuilder {
  readonly nodes: onnx.NodeProto.$Properties[] = [];
  readonly inputs: onnx.ValueInfoProto.$Properties[] = [];
  readonly outputs: onnx.ValueInfoProto.$Properties[] = [];
  /** Small tensors (shape constants, norms of tiny models…), written inline with the graph. */
  readonly constants: onnx.TensorProto.$Properties[] = [];
  readonly lazy: LazyInitializer[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(readonly name: string) {}

  /** A fresh value name under `hint` ("/model/layers.0/attn/q"). */
  fresh(hint: string): string {
    let n = hint;
    while (this.used.has(n)) n = `${hint}_${++this.counter}`;
    this.used.add(n);
    return n;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`ONNX graph: the value name "${name}" is used twice`);
    this.used.add(name);
    return name;
  }

  input(name: string, dtype: OnnxDtype, dims: readonly Dim[]): string {
    this.inputs.push({ name: this.claim(name), type: typeProto(dtype, dims) });
    return name;
  }

  /** Declares `value` (already produced by a node) as the graph output `name`, through Identity if they differ. */
  output(value: string, name: string, dtype: OnnxDtype, dims: readonly Dim[]): void {
    if (value !== name) this.nodes.push({ op_type: 'Identity', input: [value], output: [this.claim(name)], name });
    this.outputs.push({ name, type: typeProto(dtype, dims) });
  }

  /** One node; returns its outputs (`count` of them, named from `hint`). */
  nodeN(
    op: string,
    inputs: readonly string[],
    count: number,
    attrs: Record<string, AttrValue> = {},
    opts: { domain?: string; hint?: string } = {},
  ): string[] {
    const hint = opts.hint ?? op;
    const outputs = Array.from({ length: count }, (_, i) => this.fresh(count === 1 ? hint : `${hint}_${i}`));
    this.nodes.push({
      op_type: op,
      name: outputs[0]!,
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      ...(opts.domain ? { domain: opts.domain } : {}),
    });
    return outputs;
  }

  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, AttrValue> = {},
    opts: { domain?: string; hint?: string } = {},
  ): string {
    return this.nodeN(op, inputs, 1, attrs, opts)[0]!;
  }

  /** A small in-memory tensor. */
  constant(hint: string, dtype: OnnxDtype, dims: number[], values: ArrayBufferView): string {
    const name = this.fresh(hint);
    this.constants.push({ name, data_type: ONNX_DTYPE[dtype], dims, raw_data: bytesOf(values) });
    return name;
  }

  i64(hint: string, values: readonly number[], dims: number[] = [values.length]): string {
    return this.constant(
      hint,
      'int64',
      dims,
      BigInt64Array.from(values, (v) => BigInt(v)),
    );
  }

  f32(hint: string, values: readonly number[], dims: number[] = [values.length]): string {
    return this.constant(hint, 'float32', dims, Float32Array.from(values));
  }

  /** A scalar float constant (dims []). */
  scalar(hint: string, value: number, dtype: 'float32' | 'float16' = 'float32'): string {
    if (dtype === 'float32') return this.f32(hint, [value], []);
    throw new Error('float16 scalars: cast a float32 one');
  }

  /** A large initializer whose bytes the writer asks for later, in the order they are declared. */
  initializer(name: string, dtype: OnnxDtype, dims: number[]): string {
    const count = dims.reduce((a, b) => a * b, 1);
    this.lazy.push({ name: this.claim(name), dtype, dims, byteLength: count * DTYPE_BYTES[dtype] });
    return name;
  }
}
