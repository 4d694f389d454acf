// VideoMAE's list file (train.csv / val.csv despite the name): one "<path> <label>" per line, no
// header, labels 0-based ints. Relative paths resolve against `root` (default: the list's folder).
// The label is the last space-separated field, so paths with spaces still parse (VideoMAE's pandas
// reader would not accept them).
import { dirname, isAbsolute, join } from 'node:path';

import { readText } from './files.js';
import { type Annotation, type AnnotationIssue, type VideoEntry, lines } from './types.js';

export interface ListOptions {
  file: string;
  /** Folder that relative paths resolve against. Defaults to the list file's folder. */
  root?: string;
  /** Class count; labels at or above it are reported and skipped. */
  numClasses?: number;
}

export function readVideoList(opts: ListOptions): Annotation {
  const file = opts.file;
  const root = opts.root ?? dirname(file);
  const entries: VideoEntry[] = [];
  const issues: AnnotationIssue[] = [];
  let maxLabel = -1;
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
    maxLabel = Math.max(maxLabel, label);
    entries.push({ path: isAbsolute(path) ? path : join(root, path), label });
  }
  const count = opts.numClasses ?? maxLabel + 1;
  return { dataset: 'list', entries, classNames: Array.from({ length: count }, (_, i) => String(i)), issues };
}
