/** Multi-view scoring: softmax per view, mean per video, top-k, confusion matrix. */

export function softmaxRows(logits: Float32Array, classes: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let r = 0; r < logits.length / classes; r++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logits[r * classes + c]!);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += out[r * classes + c] = Math.exp(logits[r * classes + c]! - max);
    for (let c = 0; c < classes; c++) out[r * classes + c]! /= sum;
  }
  return out;
}

/** Mean of the views' softmax probabilities (VideoMAE's merge/compute_video). */
export function averageViews(logits: Float32Array, views: number, classes: number): Float64Array {
  const p = softmaxRows(logits, classes);
  const out = new Float64Array(classes);
  for (let v = 0; v < views; v++) for (let c = 0; c < classes; c++) out[c]! += p[v * classes + c]! / views;
  return out;
}

/** Whether `label` is among the k most probable classes (ties broken by class order). */
export function inTopK(probs: ArrayLike<number>, label: number, k: number): boolean {
  const p = probs[label]!;
  if (!Number.isFinite(p)) return false;
  let above = 0;
  for (let c = 0; c < probs.length; c++) if (probs[c]! > p || (probs[c] === p && c < label)) above++;
  return above < k;
}

export function argmax(probs: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < probs.length; c++) if (probs[c]! > probs[best]!) best = c;
  return best;
}

export interface ConfusionReport {
  classNames: string[];
  /** matrix[true][predicted] = count */
  matrix: number[][];
}

export function confusionMarkdown(r: ConfusionReport): string {
  const head = `| true \\ predicted | ${r.classNames.join(' | ')} | recall |`;
  const rule = `|---|${r.classNames.map(() => '---:').join('|')}|---:|`;
  const rows = r.matrix.map((row, i) => {
    const n = row.reduce((a, b) => a + b, 0);
    return `| ${r.classNames[i]} | ${row.join(' | ')} | ${n ? ((100 * row[i]!) / n).toFixed(1) + '%' : '-'} |`;
  });
  return [head, rule, ...rows].join('\n') + '\n';
}
