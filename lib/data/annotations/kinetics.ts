// Kinetics-400: the official CSVs (train.csv, validate.csv, test.csv) with the header
// label,youtube_id,time_start,time_end,split[,is_cc]. Class ids are the sorted unique labels of
// train.csv (mmaction2 and the 400-name list in opencv-doc sort the same way). Clip files are
// {youtube_id}_{time_start:06d}_{time_end:06d}.mp4 under <subset folder>/<label>/ or <subset folder>/,
// where the subset folder is train/, val/ (or validate/) or videos/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { DataError } from '../../errors/index.js';
import { findFirst, firstDir, readText } from './files.js';
import { type Annotation, type AnnotationIssue, type VideoEntry, lines } from './types.js';

export interface KineticsOptions {
  root: string;
  /** 'train' reads train.csv, 'val' validate.csv (or val.csv), 'test' test.csv. Defaults to 'train'. */
  subset?: 'train' | 'val' | 'test';
  /** Class names to use instead of the sorted labels of train.csv (e.g. a 400-line list). */
  classNames?: string[];
}

/** Splits one CSV line (RFC 4180 quotes). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let q = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (q) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') q = false;
      else cur += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

interface Row {
  n: number;
  label: string;
  id: string;
  start: number;
  end: number;
}

function readCsv(file: string, issues: AnnotationIssue[]): Row[] {
  const all = lines(readText(file));
  const head = all[0];
  const cols = head ? csvFields(head.text).map((c) => c.trim()) : [];
  const need = ['label', 'youtube_id', 'time_start', 'time_end'];
  const idx = need.map((c) => cols.indexOf(c));
  if (!head || idx.includes(-1)) {
    throw new DataError('ERR_DATA_ANNOTATION', `${file}:1: expected a header with label,youtube_id,time_start,time_end,split, got ${JSON.stringify(head?.text ?? '')}`);
  }
  const [li, yi, si, ei] = idx as [number, number, number, number];
  const rows: Row[] = [];
  for (const { n, text } of all.slice(1)) {
    const f = csvFields(text);
    if (f.length < cols.length) {
      issues.push({ file, line: n, reason: `expected ${cols.length} comma-separated fields, got ${f.length}` });
      continue;
    }
    const start = Number(f[si]);
    const end = Number(f[ei]);
    const id = f[yi]!.trim();
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end <= start) {
      issues.push({ file, line: n, reason: `time_start/time_end must be integers with 0 <= start < end, got ${JSON.stringify(f[si])}/${JSON.stringify(f[ei])}` });
      continue;
    }
    if (id.length === 0) {
      issues.push({ file, line: n, reason: 'youtube_id is empty' });
      continue;
    }
    rows.push({ n, label: f[li]!.trim(), id, start, end });
  }
  return rows;
}

export function readKinetics(opts: KineticsOptions): Annotation {
  const subset = opts.subset ?? 'train';
  const annDir = firstDir(opts.root, ['annotations', 'kinetics400']);
  const issues: AnnotationIssue[] = [];
  let classNames = opts.classNames;
  if (!classNames) {
    const trainFile = findFirst(annDir, ['train.csv', 'kinetics_400_train.csv'], 'Kinetics train.csv (for the class list)');
    const labels = new Set(readCsv(trainFile, []).map((r) => r.label).filter((l) => l.length > 0));
    classNames = [...labels].sort();
  }
  const byName = new Map(classNames.map((c, i) => [c, i]));
  const names = subset === 'train' ? ['train.csv', 'kinetics_400_train.csv'] : subset === 'val' ? ['validate.csv', 'val.csv', 'kinetics_400_val.csv'] : ['test.csv', 'kinetics_400_test.csv'];
  const file = findFirst(annDir, names, `Kinetics ${subset} CSV`);
  const videoDir = firstDir(opts.root, subset === 'val' ? ['val', 'validate', 'videos'] : [subset, 'videos']);
  const entries: VideoEntry[] = [];
  for (const r of readCsv(file, issues)) {
    const label = byName.get(r.label);
    if (label === undefined) {
      issues.push({ file, line: r.n, reason: `label ${JSON.stringify(r.label)} is not one of the ${classNames.length} classes` });
      continue;
    }
    const name = `${r.id}_${String(r.start).padStart(6, '0')}_${String(r.end).padStart(6, '0')}.mp4`;
    const candidates = [join(videoDir, r.label, name), join(videoDir, r.label.replace(/ /g, '_'), name), join(videoDir, name)];
    entries.push({ path: candidates.find((p) => existsSync(p)) ?? candidates[0]!, label });
  }
  return { dataset: 'k400', entries, classNames, issues };
}
