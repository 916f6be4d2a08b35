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
    // random() is a 32-bit integer over 2³²: its bits, one sign each (converted to an integer once, not per bit).
    const bits = (random() * 4294967296) >>> 0;
    const end = Math.min(32, out.length - i);
    // ±scale as scale·(2b − 1), exactly, without a branch that a random bit would mispredict half the time.
    for (let k = 0; k < end; k++) out[i + k] = scale * (((bits >>> k) & 1) * 2 - 1);
  }
}
