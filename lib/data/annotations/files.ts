import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { DataError } from '../../errors/index.js';

/** Reads an annotation file as UTF-8, or throws a DataError naming it. */
export function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError('ERR_DATA_ANNOTATION', `cannot read annotation file ${file}: ${code === 'ENOENT' ? 'no such file' : String((err as Error).message)}`);
  }
}

/** The first of `candidates` (joined to root) that exists, else throws naming all of them. */
export function findFirst(root: string, candidates: string[], what: string): string {
  for (const c of candidates) {
    const p = join(root, c);
    if (existsSync(p)) return p;
  }
  throw new DataError('ERR_DATA_LAYOUT', `${what} not found under ${root}; looked for ${candidates.join(', ')}`);
}

/** The first existing directory among candidates (joined to root), else root itself. */
export function firstDir(root: string, candidates: string[]): string {
  for (const c of candidates) {
    const p = join(root, c);
    try {
      if (statSync(p).isDirectory()) return p;
    } catch {
      // not there
    }
  }
  return root;
}
