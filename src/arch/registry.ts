/**
 * Every architecture the engine runs: each file of src/arch/ but this one and spec.ts exports `spec`, and this
 * module collects them (at build time, so adding a family is adding its file). Read by src/model/config.ts, the
 * GGUF code (src/formats/gguf-*.ts) and the tests, which loop over ARCHITECTURES.
 */
import type { ArchitectureSpec } from './spec.ts';

export type { ArchitectureSpec };

const files = import.meta.glob<{ spec: ArchitectureSpec }>(['./*.ts', '!./registry.ts', '!./spec.ts'], {
  eager: true,
});

/** In `order`. */
export const ARCHITECTURES: readonly ArchitectureSpec[] = Object.entries(files)
  .map(([path, mod]) => {
    const s = mod.spec;
    if (!s || `./${s.id}.ts` !== path) throw new Error(`src/arch${path.slice(1)} must export the spec of "${path}"`);
    return s;
  })
  .sort((a, b) => a.order - b.order);

export const ARCHITECTURE_IDS: readonly string[] = ARCHITECTURES.map((a) => a.id);

/** The spec of a config.json `model_type`, or undefined when the engine does not run it. */
export function architecture(id: string): ArchitectureSpec | undefined {
  return ARCHITECTURES.find((a) => a.id === id);
}

/**
 * The spec whose conventions a GGUF file of `general.architecture` = `name` follows: the family llama.cpp converts
 * under that name (the one of the same id first: "llama" is Llama, which Mistral shares), else a family listing it in
 * `ggufAliases` ("gemma3" → gemma2), else the family of that HF id ("mistral"). Undefined: a plain llama layout.
 */
export function ggufArchitecture(name: string): ArchitectureSpec | undefined {
  return (
    ARCHITECTURES.find((a) => a.ggufArch === name && a.id === name) ??
    ARCHITECTURES.find((a) => a.ggufArch === name) ??
    ARCHITECTURES.find((a) => a.ggufAliases.includes(name)) ??
    architecture(name)
  );
}
