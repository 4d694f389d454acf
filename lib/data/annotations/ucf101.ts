// UCF101: ucfTrainTestlist/classInd.txt ("1 ApplyEyeMakeup", 1-based) and trainlist0N.txt
// ("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1") / testlist0N.txt (path only; the class is the
// directory). Labels are classInd ids minus 1. Videos live under UCF-101/ (the official archive's
// folder) or directly under the root.
import { join } from 'node:path';

import { findFirst, firstDir, readText } from './files.js';
import { type Annotation, type AnnotationIssue, type Subset, type VideoEntry, lines } from './types.js';

export interface Ucf101Options {
  /** Dataset root: holds ucfTrainTestlist/ (or the list files) and UCF-101/ (or the class folders). */
  root: string;
  /** Official split 1, 2 or 3. Defaults to 1. */
  split?: 1 | 2 | 3;
  /** Defaults to 'train'. */
  subset?: Subset;
}

/** Parses classInd.txt into names (index = id - 1); bad lines go to issues. */
export function readClassInd(file: string, issues: AnnotationIssue[]): string[] {
  const names: string[] = [];
  const seen = new Set<number>();
  for (const { n, text } of lines(readText(file))) {
    const m = /^(\d+)\s+(\S+)$/.exec(text);
    if (!m) {
      issues.push({ file, line: n, reason: `expected "<id> <ClassName>", got ${JSON.stringify(text)}` });
      continue;
    }
    const id = Number(m[1]);
    if (id < 1 || seen.has(id)) {
      issues.push({ file, line: n, reason: `class id ${id} is ${id < 1 ? 'below 1' : 'a duplicate'}` });
      continue;
    }
    seen.add(id);
    names[id - 1] = m[2]!;
  }
  for (let i = 0; i < names.length; i++) {
    if (names[i] === undefined) issues.push({ file, reason: `class id ${i + 1} is missing` });
  }
  return Array.from(names, (x, i) => x ?? `class${i + 1}`);
}

export function readUcf101(opts: Ucf101Options): Annotation {
  const split = opts.split ?? 1;
  const subset = opts.subset ?? 'train';
  const listDir = firstDir(opts.root, ['ucfTrainTestlist', 'annotations']);
  const issues: AnnotationIssue[] = [];
  const classFile = findFirst(listDir, ['classInd.txt'], 'UCF101 classInd.txt');
  const classNames = readClassInd(classFile, issues);
  const byName = new Map(classNames.map((c, i) => [c, i]));
  const listName = `${subset === 'train' ? 'trainlist' : 'testlist'}0${split}.txt`;
  const file = findFirst(listDir, [listName], `UCF101 ${listName}`);
  const videoRoot = firstDir(opts.root, ['UCF-101', 'videos']);
  const entries: VideoEntry[] = [];
  for (const { n, text } of lines(readText(file))) {
    const fields = text.split(/\s+/);
    const rel = fields[0]!;
    const dir = rel.includes('/') ? rel.slice(0, rel.indexOf('/')) : undefined;
    const fromDir = dir !== undefined ? byName.get(dir) : undefined;
    if (fields.length > 2) {
      issues.push({ file, line: n, reason: `expected "<Class/video.avi>${subset === 'train' ? ' <id>' : ''}", got ${fields.length} fields` });
      continue;
    }
    let label: number | undefined = fromDir;
    if (fields.length === 2) {
      const id = Number(fields[1]);
      if (!Number.isInteger(id) || id < 1 || id > classNames.length) {
        issues.push({ file, line: n, reason: `class id ${JSON.stringify(fields[1])} is not an integer in [1, ${classNames.length}]` });
        continue;
      }
      if (fromDir !== undefined && fromDir !== id - 1) {
        issues.push({ file, line: n, reason: `class id ${id} (${classNames[id - 1]}) does not match the folder ${dir}` });
        continue;
      }
      label = id - 1;
    } else if (subset === 'train') {
      issues.push({ file, line: n, reason: 'expected "<Class/video.avi> <id>", the class id is missing' });
      continue;
    }
    if (label === undefined) {
      issues.push({ file, line: n, reason: `the folder ${JSON.stringify(dir ?? rel)} is not a class in classInd.txt` });
      continue;
    }
    entries.push({ path: join(videoRoot, rel), label });
  }
  return { dataset: 'ucf101', entries, classNames, issues };
}
