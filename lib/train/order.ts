/**
 * The data order of a run as a pure function of (seed, position): position p (clips consumed so
 * far) is clip perm_e[p mod L] of epoch e = floor(p / L), with a fresh permutation per epoch.
 * Resuming at a position therefore replays exactly the clips the interrupted run would have seen.
 */

/** murmur3 finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A seeded permutation of [0, length) per epoch; the last one is cached. */
export class DataOrder {
  private cachedEpoch = -1;
  private perm = new Uint32Array(0);

  constructor(
    readonly length: number,
    readonly seed: number,
  ) {
    if (!Number.isInteger(length) || length < 1) throw new RangeError(`data order over ${length} clips`);
  }

  private permutation(epoch: number): Uint32Array {
    if (epoch === this.cachedEpoch) return this.perm;
    const n = this.length;
    const p = this.perm.length === n ? this.perm : new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    let key = fmix((this.seed ^ 0x2545f491) + Math.imul(epoch + 1, 0x9e3779b9));
    for (let i = n - 1; i > 0; i--) {
      key = fmix(key + 0x6d2b79f5);
      const j = Math.floor((key / 4294967296) * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    this.cachedEpoch = epoch;
    this.perm = p;
    return p;
  }

  /** Dataset indices of the `count` clips starting at `position`. */
  indices(position: number, count: number): number[] {
    const out: number[] = [];
    for (let k = 0; k < count; k++) {
      const pos = position + k;
      const epoch = Math.floor(pos / this.length);
      out.push(this.permutation(epoch)[pos - epoch * this.length]!);
    }
    return out;
  }

  /** Epoch (fractional) at a position. */
  epochAt(position: number): number {
    return position / this.length;
  }
}
