/**
 * Training progress on stderr: a one-line bar redrawn in place on a terminal, plain lines
 * (one per logged step) otherwise, so logs and CI output stay readable.
 */
import type { TrainProgress } from '../lib/index.js';

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function fmt(x: number | undefined, digits = 4): string {
  if (x === undefined || !Number.isFinite(x)) return '-';
  return Math.abs(x) >= 1e-3 || x === 0 ? x.toFixed(digits) : x.toExponential(2);
}

/**
 * The sampler's part of a progress line: KL (old vs new mask distribution), mask entropy (nats per
 * token) and beta of a learned sampler, and the share of masked tokens that move where the data
 * knows motion. Empty when the step has none of them.
 */
export function samplerText(p: TrainProgress): string {
  const parts: string[] = [];
  if (p.kl !== undefined) parts.push(`kl ${fmt(p.kl, 4)}`);
  if (p.entropy !== undefined) parts.push(`entropy ${fmt(p.entropy, 3)}`);
  if (p.beta !== undefined) parts.push(`beta ${fmt(p.beta, 3)}`);
  if (p.maskedMovingShare !== undefined && Number.isFinite(p.maskedMovingShare)) {
    const of = p.movingShare !== undefined && Number.isFinite(p.movingShare) ? ` (moving ${(100 * p.movingShare).toFixed(0)}%)` : '';
    parts.push(`masked-moving ${(100 * p.maskedMovingShare).toFixed(0)}%${of}`);
  }
  return parts.length ? `  ${parts.join('  ')}` : '';
}

export interface ProgressView {
  update(p: TrainProgress): void;
  /** Ends the bar's line (a terminal) so later output starts on a fresh line. */
  done(): void;
}

/** A bar on a TTY, lines otherwise. `stream` defaults to stderr. */
export function progressView(stream: NodeJS.WriteStream = process.stderr, opts: { bar?: boolean } = {}): ProgressView {
  const bar = opts.bar ?? Boolean(stream.isTTY);
  let drawn = false;
  let lastDraw = 0;
  return {
    update(p) {
      const clips = `${fmt(p.clipsPerS, 1)} clips/s`;
      if (bar) {
        const now = Date.now();
        if (now - lastDraw < 100 && p.step < p.totalSteps) return; // at most 10 redraws a second
        lastDraw = now;
        const width = 24;
        const done = Math.min(width, Math.round((p.step / p.totalSteps) * width));
        const text =
          `[${'#'.repeat(done)}${'.'.repeat(width - done)}] step ${p.step}/${p.totalSteps}  ${clips}  ` +
          `loss ${fmt(p.loss)}  ETA ${formatDuration(p.etaS)}${samplerText(p)}`;
        const cols = stream.columns || 100;
        stream.write(`\r${text.slice(0, cols - 1).padEnd(Math.min(cols - 1, text.length))}\x1b[K`);
        drawn = true;
      } else if (p.logged) {
        stream.write(
          `step ${p.step}/${p.totalSteps}  loss ${fmt(p.loss)}  lr ${fmt(p.lr)}${samplerText(p)}  ${clips}  ` +
            `elapsed ${formatDuration(p.elapsedS)}  ETA ${formatDuration(p.etaS)}\n`,
        );
      }
    },
    done() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
  };
}
