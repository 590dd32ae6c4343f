// bitsandbytes' NF4 code book (docs/formats.md), indexed by the 4-bit code: value = NF4_CODE[code] · absmax.
// The same table is src/formats/quant-blocks.ts NF4_CODE (test/unit/gpu/wgsl-pieces.test.ts compares them).
// Provides: NF4_CODE. Needs nothing from the including shader.
const NF4_CODE = array<f32, 16>(
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
  -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
  0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
  0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
);
