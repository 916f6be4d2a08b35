/**
 * A small seeded generator (mulberry32): the same seed gives the same directions and samples on
 * every machine, which Math.random cannot promise. Statistical quality is ample for picking
 * test directions.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box–Muller, the cosine only). */
export function gaussian(random: () => number): number {
  const u1 = 1 - random(); // in (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random());
}

/** Fills `out` with ±scale, each sign independent and even, 32 signs from each draw. */
export function randomSigns(random: () => number, out: Float64Array, scale: number): void {
  for (let i = 0; i < out.length; i += 32) {
    // random() is a 32-bit integer over 2³²: its bits, one sign each.
    const bits = random() * 4294967296;
    for (let k = 0; k < 32 && i + k < out.length; k++) out[i + k] = ((bits >>> k) & 1) === 1 ? scale : -scale;
  }
}
