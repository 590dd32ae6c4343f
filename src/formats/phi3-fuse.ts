/**
 * Phi-3's fused projections and LoRA adapters, exactly (no approximation).
 *
 * Phi-3 stores q/k/v in one `self_attn.qkv_proj` ([q; k; v] rows) and gate/up in one `mlp.gate_up_proj` (first half
 * gate, second half up); the loader splits them, so the engine trains separate adapters on q_proj, k_proj, v_proj,
 * gate_proj and up_proj. PEFT on Phi3ForCausalLM only knows the fused modules, so:
 *
 * - fuse (export): separate rank-r adapters (A_i [r, C], B_i [M_i, r]) of the parts of one fused module become one
 *   adapter of rank n·r, A = [A_1; …; A_n] ([n·r, C]) and B = blockdiag(B_1, …, B_n) ([ΣM_i, n·r]): B·A stacks the
 *   B_i·A_i row blocks, which is what the fused projection adds. A part without an adapter is a zero row block of B
 *   (and takes no rank). PEFT has one r for the whole adapter (rank_pattern is not written), so every module is
 *   zero-padded to the largest rank R' (zero rows of A, zero columns of B add nothing) and lora_alpha becomes
 *   alpha·R'/r (alpha·√(R'/r) with rsLoRA), leaving the scaling alpha/r (alpha/√r) unchanged.
 * - split (import): a fused adapter of rank r (A, B) is, exactly, one rank-r adapter per part sharing A: the part
 *   takes A and its own rows of B.
 *
 * Pure functions on host tensors in PEFT's orientation (the `PeftExport` / `AdapterTensors` shape). Browser-safe.
 */
import type { PeftExport } from './peft.ts';

/** Rows of each part of phi3's fused projections. */
export interface FusedLayout {
  /** q_proj rows: heads · headDim. */
  q: number;
  /** k_proj and v_proj rows each: kvHeads · headDim. */
  kv: number;
  /** gate_proj and up_proj rows each. */
  intermediate: number;
}

/** The fields of a model description (src/model/config.ts' `ModelDescription`) the fused layout is drawn from. */
export interface FusedShape {
  /** phi3: q/k/v in one qkv_proj and gate/up in one gate_up_proj. */
  fused: boolean;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
}

/** The fused layout of a model description, or null when its projections are not fused (every family but phi3). */
export function fusedLayout(d: FusedShape): FusedLayout | null {
  if (!d.fused) return null;
  return { q: d.heads * d.headDim, kv: d.kvHeads * d.headDim, intermediate: d.intermediate };
}

export type FusedName = 'qkv_proj' | 'gate_up_proj';
export type FusedPart = 'q_proj' | 'k_proj' | 'v_proj' | 'gate_proj' | 'up_proj';

/** The parts of each fused module, in row order. */
export const FUSED_PARTS: Record<FusedName, readonly FusedPart[]> = {
  qkv_proj: ['q_proj', 'k_proj', 'v_proj'],
  gate_up_proj: ['gate_proj', 'up_proj'],
};

const FUSED_OF: Record<string, FusedName> = {
  q_proj: 'qkv_proj',
  k_proj: 'qkv_proj',
  v_proj: 'qkv_proj',
  gate_proj: 'gate_up_proj',
  up_proj: 'gate_up_proj',
};

/** phi3's target_modules order. */
const PHI3_ORDER = ['qkv_proj', 'o_proj', 'gate_up_proj', 'down_proj'];
/** The engine's (split) target order. */
const SPLIT_ORDER = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** [part, rows] of a fused module, in row order. */
export function fusedPartRows(layout: FusedLayout, name: FusedName): [FusedPart, number][] {
  return name === 'qkv_proj'
    ? [
        ['q_proj', layout.q],
        ['k_proj', layout.kv],
        ['v_proj', layout.kv],
      ]
    : [
        ['gate_proj', layout.intermediate],
        ['up_proj', layout.intermediate],
      ];
}

/** Thrown when an adapter cannot be fused or split; the message says why. */
export class Phi3FuseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Phi3FuseError';
  }
}

type Module = PeftExport['modules'][number];

const PATH = /^(.*\.)(q_proj|k_proj|v_proj|gate_proj|up_proj|qkv_proj|gate_up_proj)$/;

/** Whether a module path names one of phi3's fused modules (…self_attn.qkv_proj, …mlp.gate_up_proj). */
export function isFusedPath(path: string): boolean {
  return /\.(qkv_proj|gate_up_proj)$/.test(path);
}

/** A [rows, cols] row-major matrix zero-padded to [rows', cols'] (rows' ≥ rows, cols' ≥ cols). */
function pad(values: Float32Array, rows: number, cols: number, rows2: number, cols2: number): Float32Array {
  if (rows === rows2 && cols === cols2) return values;
  const out = new Float32Array(rows2 * cols2);
  for (let r = 0; r < rows; r++) out.set(values.subarray(r * cols, r * cols + cols), r * cols2);
  return out;
}

/** target_modules in phi3's names (q/k/v → qkv_proj, gate/up → gate_up_proj), in phi3's order. */
export function fusedTargetModules(targets: readonly string[]): string[] {
  const names = new Set(targets.map((t) => FUSED_OF[t] ?? t));
  return [...PHI3_ORDER.filter((n) => names.has(n)), ...[...names].filter((n) => !PHI3_ORDER.includes(n))];
}

/** target_modules in the engine's split names (qkv_proj → q/k/v_proj, gate_up_proj → gate/up_proj). */
export function splitTargetModules(targets: readonly string[]): string[] {
  const names = new Set(targets.flatMap((t) => (t in FUSED_PARTS ? [...FUSED_PARTS[t as FusedName]] : [t])));
  return [...SPLIT_ORDER.filter((n) => names.has(n)), ...[...names].filter((n) => !SPLIT_ORDER.includes(n))];
}

/** The scaling-preserving lora_alpha at rank `newRank` for an adapter of rank `rank`. */
export function alphaForRank(alpha: number, rank: number, newRank: number, rslora: boolean): number {
  if (newRank === rank) return alpha;
  return rslora ? alpha * Math.sqrt(newRank / rank) : (alpha * newRank) / rank;
}

/**
 * The adapter in phi3's PEFT layout: q/k/v parts of a layer fused into one `qkv_proj` module, gate/up into one
 * `gate_up_proj`, every module zero-padded to the largest rank R', lora_alpha scaled so the scaling is unchanged.
 * Modules already fused (qkv_proj / gate_up_proj) are kept as they are, so fusing a fused adapter returns it
 * unchanged; a layer that has both a fused module and some of its parts is refused.
 */
export function fusePhi3Adapter(e: PeftExport, layout: FusedLayout): PeftExport {
  const r = e.rank;
  // The output modules in order of first appearance, each with its rank; fused groups collect their parts first.
  type Out =
    | { path: string; rank: number; inFeatures: number; outFeatures: number; A: Float32Array; B: Float32Array }
    | { group: string; name: FusedName; parts: Map<FusedPart, Module> };
  const out: Out[] = [];
  const groups = new Map<string, Extract<Out, { group: string }>>();
  const seen = new Set<string>();
  for (const m of e.modules) {
    if (m.A.length !== r * m.inFeatures || m.B.length !== m.outFeatures * r)
      throw new Phi3FuseError(
        `${m.path}: A or B does not hold rank ${r} values of [${m.outFeatures} × ${m.inFeatures}].`,
      );
    if (seen.has(m.path)) throw new Phi3FuseError(`The adapter has ${m.path} twice.`);
    seen.add(m.path);
    const match = PATH.exec(m.path);
    const short = match?.[2];
    if (!match || !short || short === 'qkv_proj' || short === 'gate_up_proj') {
      out.push({ path: m.path, rank: r, inFeatures: m.inFeatures, outFeatures: m.outFeatures, A: m.A, B: m.B });
      continue;
    }
    const name = FUSED_OF[short]!;
    const path = `${match[1]}${name}`;
    let g = groups.get(path);
    if (!g) {
      g = { group: path, name, parts: new Map() };
      groups.set(path, g);
      out.push(g);
    }
    g.parts.set(short as FusedPart, m);
  }
  for (const path of groups.keys()) {
    if (seen.has(path))
      throw new Phi3FuseError(
        `The adapter has both ${path} and some of its parts (${[...groups.get(path)!.parts.keys()].join(', ')}); it cannot be written in one layout.`,
      );
  }

  const fused = out.map((o) => {
    if (!('group' in o)) return o;
    const rows = fusedPartRows(layout, o.name);
    const present = rows.filter(([part]) => o.parts.has(part));
    const K = o.parts.get(present[0]![0])!.inFeatures;
    const M = rows.reduce((s, [, n]) => s + n, 0);
    const R = present.length * r;
    const A = new Float32Array(R * K);
    const B = new Float32Array(M * R);
    let row0 = 0;
    let block = 0;
    for (const [part, n] of rows) {
      const m = o.parts.get(part);
      if (m) {
        if (m.outFeatures !== n || m.inFeatures !== K) {
          throw new Phi3FuseError(
            `${m.path}: the adapter is [${m.outFeatures} × ${m.inFeatures}] but phi3's ${part} is [${n} × ${K}]: was it trained on another base model?`,
          );
        }
        A.set(m.A, block * r * K);
        // B's rows row0..row0+n, columns block·r..block·r+r hold B_part; everything else of those rows is zero.
        for (let i = 0; i < n; i++) B.set(m.B.subarray(i * r, i * r + r), (row0 + i) * R + block * r);
        block++;
      }
      row0 += n;
    }
    return { path: o.group, rank: R, inFeatures: K, outFeatures: M, A, B };
  });

  const R = Math.max(r, ...fused.map((m) => m.rank));
  return {
    ...e,
    rank: R,
    alpha: alphaForRank(e.alpha, r, R, e.rslora),
    targetModules: fusedTargetModules(e.targetModules),
    modules: fused.map((m) => ({
      path: m.path,
      inFeatures: m.inFeatures,
      outFeatures: m.outFeatures,
      A: pad(m.A, m.rank, m.inFeatures, R, m.inFeatures),
      B: pad(m.B, m.outFeatures, m.rank, m.outFeatures, R),
    })),
  };
}

/**
 * One fused module of rank `rank` as its parts, exactly: each part shares A and takes its rows of B. Throws when
 * the module's shape is not phi3's (another base model).
 */
export function splitFusedModule(m: Module, rank: number, layout: FusedLayout): Module[] {
  const match = /^(.*\.)(qkv_proj|gate_up_proj)$/.exec(m.path);
  if (!match) throw new Phi3FuseError(`${m.path} is not one of phi3's fused modules (qkv_proj, gate_up_proj).`);
  const rows = fusedPartRows(layout, match[2] as FusedName);
  const M = rows.reduce((s, [, n]) => s + n, 0);
  if (m.outFeatures !== M) {
    throw new Phi3FuseError(
      `${m.path}: the adapter's output is ${m.outFeatures} rows but the model's ${match[2]} has ${M} (${rows.map(([p, n]) => `${p} ${n}`).join(' + ')}): was it trained on another base model?`,
    );
  }
  if (m.A.length !== rank * m.inFeatures || m.B.length !== M * rank)
    throw new Phi3FuseError(`${m.path}: A or B does not hold rank ${rank} values of [${M} × ${m.inFeatures}].`);
  const parts: Module[] = [];
  let row0 = 0;
  for (const [part, n] of rows) {
    parts.push({
      path: `${match[1]}${part}`,
      inFeatures: m.inFeatures,
      outFeatures: n,
      A: m.A,
      B: m.B.slice(row0 * rank, (row0 + n) * rank),
    });
    row0 += n;
  }
  return parts;
}

/**
 * The adapter in the engine's split layout: every fused module split into its parts (same rank and alpha); split
 * modules are kept. Refuses an adapter with a fused module and one of its parts in the same layer.
 */
export function splitPhi3Adapter(e: PeftExport, layout: FusedLayout): PeftExport {
  const modules: Module[] = [];
  const paths = new Set<string>();
  for (const m of e.modules) {
    for (const part of isFusedPath(m.path) ? splitFusedModule(m, e.rank, layout) : [m]) {
      if (paths.has(part.path))
        throw new Phi3FuseError(
          `The adapter has ${part.path} both on its own and inside a fused module; it cannot be applied in one layout.`,
        );
      paths.add(part.path);
      modules.push(part);
    }
  }
  return { ...e, targetModules: splitTargetModules(e.targetModules), modules };
}
