// VideoMAE's list file (train.csv / val.csv despite the name): one "<path> <label>" per line, no
// header, labels 0-based ints. Relative paths resolve against `root` (default: the list's folder).
// The label is the last space-separated field, so paths with spaces still parse (VideoMAE's pandas
// reader would not accept them).
import { dirname, isAbsolute, join } from 'node:path';

import { DataError } from '../../errors/index.js';
import { readText } from './files.js';
import { type Annotation, type AnnotationIssue, type VideoEntry, lines } from './types.js';

export interface ListOptions {
  file: string;
  /** Folder that relative paths resolve against. Defaults to the list file's folder. */
  root?: string;
  /**
   * Class count; labels at or above it are reported and skipped. Without it the count is the
   * largest label + 1, and a list whose largest label is implausible (see MAX_INFERRED_CLASSES)
   * is refused.
   */
  numClasses?: number;
}

/**
 * Without a class count, a list may imply up to this many classes, or more when it uses at least
 * half of the labels below its largest: a stray label (a typo, 1000000) would otherwise make a
 * million class names and a classifier head to match.
 */
export const MAX_INFERRED_CLASSES = 1000;

export function readVideoList(opts: ListOptions): Annotation {
  const file = opts.file;
  const root = opts.root ?? dirname(file);
  const entries: VideoEntry[] = [];
  const issues: AnnotationIssue[] = [];
  let maxLabel = -1;
  let maxLine = 0;
  const seen = new Map<string, { line: number; label: number }>();
  for (const { n, text } of lines(readText(file))) {
    const cut = text.lastIndexOf(' ');
    const tab = text.lastIndexOf('\t');
    const at = Math.max(cut, tab);
    if (at <= 0) {
      issues.push({ file, line: n, reason: `expected "<path> <label>", got ${JSON.stringify(text)}` });
      continue;
    }
    const path = text.slice(0, at).trim();
    const raw = text.slice(at + 1).trim();
    const label = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(label)) {
      issues.push({ file, line: n, reason: `label ${JSON.stringify(raw)} is not a non-negative integer` });
      continue;
    }
    if (opts.numClasses !== undefined && label >= opts.numClasses) {
      issues.push({ file, line: n, reason: `label ${label} is not below the class count ${opts.numClasses}` });
      continue;
    }
    const abs = isAbsolute(path) ? path : join(root, path);
    const before = seen.get(abs);
    if (before) {
      if (before.label !== label) {
        throw new DataError('ERR_DATA_DUPLICATE', `${file}: ${path} is listed twice with different labels: line ${before.line} (label ${before.label}) and line ${n} (label ${label}); keep one`);
      }
      issues.push({ file, line: n, reason: `${path} is listed again (first on line ${before.line}, same label): the repeat is skipped` });
      continue;
    }
    seen.set(abs, { line: n, label });
    if (label > maxLabel) {
      maxLabel = label;
      maxLine = n;
    }
    entries.push({ path: abs, label });
  }
  if (opts.numClasses === undefined && maxLabel + 1 > MAX_INFERRED_CLASSES) {
    const used = new Set(entries.map((e) => e.label)).size;
    if (used < (maxLabel + 1) / 2) {
      throw new DataError(
        'ERR_DATA_LABEL',
        `${file}: line ${maxLine} has label ${maxLabel}, which would make ${maxLabel + 1} classes while the list uses ${used} distinct labels; fix the line, or give the class count (tats pack --classes N) if it is right`,
      );
    }
  }
  const count = opts.numClasses ?? maxLabel + 1;
  return { dataset: 'list', entries, classNames: Array.from({ length: count }, (_, i) => String(i)), issues };
}
