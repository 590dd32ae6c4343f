/** Float64 CPU reference of the gated activations out = act(gate) · up (SwiGLU: silu, GeGLU: gelu_tanh). */

export type Act = 'silu' | 'gelu_tanh';

const K = Math.sqrt(2 / Math.PI);

export function actRef(act: Act, g: number): number {
  if (act === 'silu') return g / (1 + Math.exp(-g));
  return 0.5 * g * (1 + Math.tanh(K * (g + 0.044715 * g ** 3)));
}

export function actGradRef(act: Act, g: number): number {
  if (act === 'silu') {
    const s = 1 / (1 + Math.exp(-g));
    return s * (1 + g * (1 - s));
  }
  const t = Math.tanh(K * (g + 0.044715 * g ** 3));
  return 0.5 * (1 + t) + 0.5 * g * (1 - t * t) * K * (1 + 3 * 0.044715 * g * g);
}

export function gluForwardRef(act: Act, gate: ArrayLike<number>, up: ArrayLike<number>): Float64Array {
  const out = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) out[i] = actRef(act, gate[i]!) * up[i]!;
  return out;
}

export function gluBackwardRef(
  act: Act,
  gate: ArrayLike<number>,
  up: ArrayLike<number>,
  dout: ArrayLike<number>,
): { dgate: Float64Array; dup: Float64Array } {
  const dgate = new Float64Array(gate.length);
  const dup = new Float64Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    dgate[i] = dout[i]! * up[i]! * actGradRef(act, gate[i]!);
    dup[i] = dout[i]! * actRef(act, gate[i]!);
  }
  return { dgate, dup };
}

/** Splits a fused [N, 2I] gate_up buffer (first half gate, second half up) into two [N, I] arrays. */
export function splitFused(gateUp: ArrayLike<number>, N: number, I: number): { gate: Float64Array; up: Float64Array } {
  const gate = new Float64Array(N * I);
  const up = new Float64Array(N * I);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      gate[n * I + i] = gateUp[n * 2 * I + i]!;
      up[n * I + i] = gateUp[n * 2 * I + I + i]!;
    }
  }
  return { gate, up };
}

/** Joins two [N, I] arrays into the fused [N, 2I] layout. */
export function joinFused(gate: ArrayLike<number>, up: ArrayLike<number>, N: number, I: number): Float64Array {
  const out = new Float64Array(N * 2 * I);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < I; i++) {
      out[n * 2 * I + i] = gate[n * I + i]!;
      out[n * 2 * I + I + i] = up[n * I + i]!;
    }
  }
  return out;
}
