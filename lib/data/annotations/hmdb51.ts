// HMDB51: testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt, lines "<video>.avi <flag>" with
// flag 1 = train, 2 = test, 0 = unused in that split. Class ids are the sorted class names, from 0
// (what mmaction2 builds). Videos live under hmdb51/<class>/, videos/<class>/ or <root>/<class>/.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { DataError } from '../../errors/index.js';
import { firstDir, readText } from './files.js';
import { type Annotation, type AnnotationIssue, type Subset, type VideoEntry, lines } from './types.js';

export interface Hmdb51Options {
  root: string;
  /** Official split 1, 2 or 3. Defaults to 1. */
  split?: 1 | 2 | 3;
  /** Defaults to 'train'. */
  subset?: Subset;
}

export function readHmdb51(opts: Hmdb51Options): Annotation {
  const split = opts.split ?? 1;
  const subset = opts.subset ?? 'train';
  const splitDir = firstDir(opts.root, ['testTrainMulti_7030_splits', 'splits']);
  const suffix = `_test_split${split}.txt`;
  let files: string[];
  try {
    files = readdirSync(splitDir).filter((f) => f.endsWith(suffix)).sort();
  } catch (err) {
    throw new DataError('ERR_DATA_LAYOUT', `cannot list HMDB51 split folder ${splitDir}: ${(err as Error).message}`);
  }
  if (files.length === 0) {
    throw new DataError('ERR_DATA_LAYOUT', `no HMDB51 split files *${suffix} in ${splitDir} (expected testTrainMulti_7030_splits/<class>${suffix})`);
  }
  const classNames = files.map((f) => f.slice(0, -suffix.length));
  const videoRoot = firstDir(opts.root, ['hmdb51', 'videos']);
  const want = subset === 'train' ? 1 : 2;
  const entries: VideoEntry[] = [];
  const issues: AnnotationIssue[] = [];
  files.forEach((f, label) => {
    const file = join(splitDir, f);
    for (const { n, text } of lines(readText(file))) {
      const fields = text.split(/\s+/);
      if (fields.length !== 2 || !/^[012]$/.test(fields[1]!)) {
        issues.push({ file, line: n, reason: `expected "<video.avi> <0|1|2>", got ${JSON.stringify(text)}` });
        continue;
      }
      if (Number(fields[1]) === want) entries.push({ path: join(videoRoot, classNames[label]!, fields[0]!), label });
    }
  });
  return { dataset: 'hmdb51', entries, classNames, issues };
}
