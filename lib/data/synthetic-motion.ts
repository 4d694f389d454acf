/**
 * The synthetic clips' motion map (synthetic.ts's module comment defines it): a token is 1 iff some
 * pixel of its patch changes between two consecutive frames of its tubelet. Only the sprites' boxes
 * are compared, since the background is static.
 */
import type { Sprite } from './synthetic-render.js';

/** The clip and token geometry the map is taken on (frames a multiple of tubelet, size of patch). */
export interface MotionGrid {
  frames: number;
  size: number;
  tubelet: number;
  patch: number;
}

/**
 * Frame differences inside the sprites' boxes -> changed cells per frame pair -> token map.
 * Writes motion (uint8 [N]); `changed` is scratch of (T-1) * grid * grid bytes.
 */
export function motionMap(clip: Uint8Array, sprites: readonly Sprite[], motion: Uint8Array, grid: MotionGrid, changed: Uint8Array): void {
  const T = grid.frames;
  const S = grid.size;
  const P = grid.patch;
  const G = S / P;
  const cells = G * G;
  const frameBytes = S * S * 3;
  changed.fill(0);
  for (let t = 0; t + 1 < T; t++) {
    const a = t * frameBytes;
    const b = a + frameBytes;
    const ch = t * cells;
    for (const sp of sprites) {
      const x0 = Math.min(sp.xs[t]!, sp.xs[t + 1]!);
      const x1 = Math.max(sp.xs[t]!, sp.xs[t + 1]!) + sp.side; // exclusive
      const y0 = Math.min(sp.ys[t]!, sp.ys[t + 1]!);
      const y1 = Math.max(sp.ys[t]!, sp.ys[t + 1]!) + sp.side;
      const gx0 = Math.floor(x0 / P);
      const gx1 = Math.floor((x1 - 1) / P);
      const gy0 = Math.floor(y0 / P);
      const gy1 = Math.floor((y1 - 1) / P);
      for (let gy = gy0; gy <= gy1; gy++) {
        for (let gx = gx0; gx <= gx1; gx++) {
          const c = ch + gy * G + gx;
          if (changed[c] === 1) continue;
          const ya = Math.max(y0, gy * P);
          const yb = Math.min(y1, (gy + 1) * P);
          const xa = Math.max(x0, gx * P) * 3;
          const xb = Math.min(x1, (gx + 1) * P) * 3;
          let diff = false;
          for (let y = ya; y < yb && !diff; y++) {
            const row = y * S * 3;
            for (let x = xa; x < xb; x++) {
              if (clip[a + row + x] !== clip[b + row + x]) {
                diff = true;
                break;
              }
            }
          }
          if (diff) changed[c] = 1;
        }
      }
    }
  }
  const tub = grid.tubelet;
  const slots = T / tub;
  for (let k = 0; k < slots; k++) {
    const out = k * cells;
    for (let c = 0; c < cells; c++) motion[out + c] = 0;
    // pairs (t, t+1) inside the tubelet; for tubelet 1 the pair ending at the frame (or (0,1))
    let p0: number;
    let p1: number;
    if (tub >= 2) {
      p0 = k * tub;
      p1 = k * tub + tub - 2;
    } else {
      p0 = p1 = Math.max(0, k - 1);
    }
    for (let p = p0; p <= p1 && p < T - 1; p++) {
      const src = p * cells;
      for (let c = 0; c < cells; c++) if (changed[src + c] === 1) motion[out + c] = 1;
    }
  }
}
