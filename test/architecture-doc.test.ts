// docs/architecture.md names only paths that exist: every `code span` that is a path (it has a
// slash; bare names such as `meta.json` are files of a run, not of the checkout) must be there.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Path-like code spans of a markdown text (placeholders such as `<op>.h` and globs are skipped). */
export function namedPaths(markdown: string): string[] {
  const spans = [...markdown.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!);
  return spans.filter((s) => !/[<>*{}]/.test(s) && /^[\w.-]+\/[\w./-]*$/.test(s));
}

describe('docs/architecture.md', () => {
  const text = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const paths = namedPaths(text);

  it('names the layers and a good number of real files', () => {
    for (const layer of ['cli/', 'lib/', 'native/addon/', 'native/core/', 'native/kernels/']) expect(text).toContain(layer);
    expect(paths.length).toBeGreaterThan(40);
  });

  it('every path it names exists', () => {
    const missing = paths.filter((p) => !existsSync(join(root, p)));
    expect(missing).toEqual([]);
  });

  it('the path check sees a missing file', () => {
    expect(namedPaths('see `lib/no-such-file.ts` and `<op>.h`')).toEqual(['lib/no-such-file.ts']);
  });
});

describe('no reference to a document that is not in the checkout', () => {
  // Planning documents that never were in the repository; the names are the ones comments used.
  const gone = /\b(CONTRACT\.md|DESIGN\.md|STYLE\.md|research\/)|(?<![\w/])CLI\.md/;
  // Files another change is rewriting right now; they drop the reference there.
  const pending = new Set<string>();
  const walk = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
  it('lib/, cli/ and docs/ name no such document', () => {
    const files = [...walk('lib'), ...walk('cli'), ...walk('docs')].filter((f) => /\.(ts|md)$/.test(f) && !pending.has(f));
    expect(files.filter((f) => gone.test(readFileSync(join(root, f), 'utf8')))).toEqual([]);
  });
});
