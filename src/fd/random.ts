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

/** A standard normal sample (Box–Muller). */
export function gaussian(random: () => number): number {
  const u1 = 1 - random(); // in (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * random());
}
