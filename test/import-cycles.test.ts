/**
 * No import circles in lib/ or cli/, between files or between the folders of lib/: the static
 * relative imports of every file are followed, and any circle fails the test with its members.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/**
 * Static relative imports of a file, type-only ones included (a circle of types is still a circle
 * for a reader), resolved to .ts paths. Dynamic `import()` is not followed: it runs after loading.
 */
function staticImports(file: string): string[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, false);
  const out: string[] = [];
  for (const st of src.statements) {
    const spec = (ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier) ? st.moduleSpecifier.text : undefined;
    if (spec?.startsWith('.')) out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

/**
 * The import circles among `files`: each strongly connected component of more than one file (or a
 * file importing itself), as its files in walk order, so every file on a circle is named.
 */
export function importCycles(files: string[], node: (file: string) => string = (f) => f): string[][] {
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps = graph.get(node(f)) ?? [];
    for (const d of staticImports(f)) if (files.includes(d) && node(d) !== node(f)) deps.push(node(d));
    graph.set(node(f), deps);
  }
  // Tarjan's algorithm.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (f: string) => {
    index.set(f, index.size);
    low.set(f, index.get(f)!);
    stack.push(f);
    onStack.add(f);
    for (const d of graph.get(f)!) {
      if (!index.has(d)) {
        visit(d);
        low.set(f, Math.min(low.get(f)!, low.get(d)!));
      } else if (onStack.has(d)) low.set(f, Math.min(low.get(f)!, index.get(d)!));
    }
    if (low.get(f) !== index.get(f)) return;
    const scc: string[] = [];
    let x: string;
    do {
      x = stack.pop()!;
      onStack.delete(x);
      scc.unshift(x);
    } while (x !== f);
    if (scc.length > 1 || graph.get(f)!.includes(f)) out.push(scc.map((s) => relative(root, s)));
  };
  for (const f of graph.keys()) if (!index.has(f)) visit(f);
  return out;
}

describe('import graph', () => {
  it('lib/ and cli/ have no import cycles', () => {
    const files = [...tsFiles(join(root, 'lib')), ...tsFiles(join(root, 'cli'))];
    expect(files.length).toBeGreaterThan(50);
    expect(importCycles(files).map((c) => c.join(', '))).toEqual([]);
  });

  it('the folders of lib/ have no import cycles (lib/eval never needs lib/viz and back)', () => {
    const lib = join(root, 'lib');
    // A file directly in lib/ (native.ts, session.ts, index.ts) is a node of its own; a file in a
    // folder stands for its folder.
    const folder = (f: string) => (dirname(f) === lib ? f : join(lib, relative(lib, f).split('/')[0]!));
    expect(importCycles(tsFiles(lib), folder).map((c) => c.join(', '))).toEqual([]);
  });

  it('finds a cycle when there is one', () => {
    // The walk itself: two files of this test folder's fixture that import each other.
    const a = join(root, 'test/fixtures/import-cycle/a.ts');
    const b = join(root, 'test/fixtures/import-cycle/b.ts');
    expect(importCycles([a, b])).toEqual([['test/fixtures/import-cycle/a.ts', 'test/fixtures/import-cycle/b.ts']]);
  });
});
