// Something-Something v2: labels/something-something-v2-labels.json maps template -> "index";
// labels/something-something-v2-{train,validation}.json are arrays of {id, label, template,
// placeholders}. The class is the template with "[" and "]" removed, looked up in the labels JSON
// (mmaction2's rule). Videos are <id>.webm (or <id>.mp4 once converted) under
// 20bn-something-something-v2/, videos/ or the root.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { DataError } from '../../errors/index.js';
import { findFirst, firstDir, readText } from './files.js';
import { type Annotation, type AnnotationIssue, type VideoEntry } from './types.js';

export interface Ssv2Options {
  root: string;
  /** 'train' or 'val' (the validation JSON; VideoMAE's "test"). Defaults to 'train'. */
  subset?: 'train' | 'val';
}

function parseJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new DataError('ERR_DATA_ANNOTATION', `${file}: not valid JSON (${(err as Error).message})`);
  }
}

export function readSsv2(opts: Ssv2Options): Annotation {
  const subset = opts.subset ?? 'train';
  const annDir = firstDir(opts.root, ['labels', 'annotations']);
  const labelsFile = findFirst(annDir, ['something-something-v2-labels.json', 'labels.json'], 'SSv2 labels JSON');
  const labelsJson = parseJson(labelsFile);
  if (labelsJson === null || typeof labelsJson !== 'object' || Array.isArray(labelsJson)) {
    throw new DataError('ERR_DATA_ANNOTATION', `${labelsFile}: expected an object {template: "index"}`);
  }
  const issues: AnnotationIssue[] = [];
  const byTemplate = new Map<string, number>();
  const classNames: string[] = [];
  for (const [template, v] of Object.entries(labelsJson as Record<string, unknown>)) {
    const id = Number(v);
    if (!Number.isInteger(id) || id < 0) {
      issues.push({ file: labelsFile, reason: `template ${JSON.stringify(template)}: index ${JSON.stringify(v)} is not a non-negative integer` });
      continue;
    }
    byTemplate.set(template, id);
    classNames[id] = template;
  }
  const names = subset === 'train' ? ['something-something-v2-train.json', 'train.json'] : ['something-something-v2-validation.json', 'validation.json'];
  const file = findFirst(annDir, names, `SSv2 ${subset} JSON`);
  const list = parseJson(file);
  if (!Array.isArray(list)) throw new DataError('ERR_DATA_ANNOTATION', `${file}: expected an array of {id, label, template, placeholders}`);
  const videoDir = firstDir(opts.root, ['20bn-something-something-v2', 'videos']);
  const entries: VideoEntry[] = [];
  list.forEach((item: unknown, entry) => {
    const o = item as { id?: unknown; template?: unknown };
    if (o === null || typeof o !== 'object' || (typeof o.id !== 'string' && typeof o.id !== 'number') || typeof o.template !== 'string') {
      issues.push({ file, entry, reason: 'expected an object with string "id" and "template"' });
      return;
    }
    const template = o.template.replace(/\[/g, '').replace(/\]/g, '');
    const label = byTemplate.get(template);
    if (label === undefined) {
      issues.push({ file, entry, reason: `template ${JSON.stringify(template)} is not in ${labelsFile}` });
      return;
    }
    const webm = join(videoDir, `${o.id}.webm`);
    const mp4 = join(videoDir, `${o.id}.mp4`);
    entries.push({ path: existsSync(webm) || !existsSync(mp4) ? webm : mp4, label });
  });
  return { dataset: 'ssv2', entries, classNames: Array.from(classNames, (c, i) => c ?? `class${i}`), issues };
}
