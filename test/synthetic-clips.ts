// A small deterministic clip generator for MAE tests (until lib/data/synthetic.ts is used):
// a static linear-ramp background (random direction and contrast per clip) with a solid square
// moving in a straight line. uint8 [B, T, H, W, 3]. Per-tubelet normalisation turns every
// background patch of a clip into the same ramp, so the MAE can learn it from the visible tokens.
import { rng } from './helpers.js';

export function movingSquares(batch: number, frames: number, size: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(batch * frames * size * size * 3);
  for (let b = 0; b < batch; b++) {
    const angle = r() * 2 * Math.PI, contrast = 60 + r() * 60;
    const dx = Math.cos(angle) / size, dy = Math.sin(angle) / size;
    const tint = [r(), r(), r()];
    const side = Math.floor(size / 4 + r() * (size / 4));
    const colour = [r() * 255, r() * 255, r() * 255];
    let x = r() * (size - side), y = r() * (size - side);
    const vx = (r() - 0.5) * 6, vy = (r() - 0.5) * 6;
    for (let t = 0; t < frames; t++) {
      for (let i = 0; i < size; i++) {
        for (let j = 0; j < size; j++) {
          const inside = i >= y && i < y + side && j >= x && j < x + side;
          const base = 128 + contrast * ((j - size / 2) * dx + (i - size / 2) * dy);
          const o = ((((b * frames + t) * size + i) * size + j) * 3);
          for (let c = 0; c < 3; c++) out[o + c] = inside ? colour[c]! : Math.max(0, Math.min(255, base * (0.5 + tint[c]!)));
        }
      }
      x = Math.max(0, Math.min(size - side, x + vx));
      y = Math.max(0, Math.min(size - side, y + vy));
    }
  }
  return out;
}
