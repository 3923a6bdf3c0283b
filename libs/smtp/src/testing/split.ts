/**
 * Test support (not exported from the package): reproducible ways to cut an
 * input into feeds, so every protocol table runs whole, byte by byte and at
 * random split points.
 */

/** Deterministic PRNG (mulberry32) so random splits reproduce. */
export function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Cuts `input` at random points: chunks of 1..spread bytes, or 0..spread-1
 * bytes with allowEmpty (empty feeds are a case worth testing too).
 */
export function randomChunks(input: Buffer, seed: number, spread: number, allowEmpty = false): Buffer[] {
  const next = rng(seed);
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; ) {
    const n = Math.floor(next() * spread) + (allowEmpty ? 0 : 1);
    out.push(input.subarray(i, i + n));
    i += n;
  }
  return out;
}

export type Splitter = (b: Buffer) => Buffer[];

/** "whole", "bytewise" and one random split per seed. */
export function makeSplitters(seeds: readonly number[], spread: number): [string, Splitter][] {
  return [
    ["whole", (b) => [b]],
    ["bytewise", (b) => [...b].map((x) => Buffer.from([x]))],
    ...seeds.map((seed): [string, Splitter] => [`random#${seed}`, (b) => randomChunks(b, seed, spread)]),
  ];
}
