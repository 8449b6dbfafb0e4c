// The architecture as the imports draw it: src/ and kernels/ read as a graph of files, with each
// folder of src/ (and kernels/, and each file directly in src/) a layer. No layer imports one that
// imports it back, and no files of two folders import each other in a loop: the folders stack up,
// tensors and shapes at the bottom, backends, ops, nn, optim, data, diffusion, the Node entry on
// top. (A loop inside one folder, as tensor.ts with autograd.ts, is one subject's business.)
// Type-only imports are left out: they vanish from the JavaScript.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { expect } from 'chai';

const repoRoot = new URL('../../', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(repoRoot, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(repoRoot, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.d.ts') ? [path] : [];
  });
}

/** file → the files it imports (relative imports that survive compilation). */
function importGraph(): Map<string, Set<string>> {
  const files = [...sourceFiles('src'), ...sourceFiles('kernels')];
  const graph = new Map(files.map((f) => [f, new Set<string>()]));
  for (const file of files) {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    for (const m of text.matchAll(/^(?:import|export)\s+(type\s)?[^;]*?from\s+'(\.[^']+)'/gms)) {
      if (m[1]) continue;
      const target = relative(repoRoot, resolve(repoRoot, dirname(file), m[2]!)).replace(/\.js$/, '.ts');
      expect(graph.has(target), `${file} imports ${m[2]}, which is no source file`).to.equal(true);
      graph.get(file)!.add(target);
    }
  }
  return graph;
}

/** The strongly connected parts of a graph with more than one node (Tarjan): its loops. */
function loops(graph: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], onStack = new Set<string>(), found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const part: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        part.push(w);
      } while (w !== v);
      if (part.length > 1) found.push(part.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** A file's layer: its folder under src/ (src/backends/gpu/x.ts → src/backends), kernels/, or itself for a file directly in src/. */
const layerOf = (file: string) => (file.startsWith('kernels/') ? 'kernels' : file.split('/').length > 2 ? file.split('/').slice(0, 2).join('/') : file);

describe('the layers of src/ and kernels/', () => {
  const graph = importGraph();

  it('no loop of imports between layers', () => {
    const layers = new Map<string, Set<string>>();
    for (const [file, targets] of graph) {
      for (const target of targets) {
        if (layerOf(file) === layerOf(target)) continue;
        if (!layers.has(layerOf(file))) layers.set(layerOf(file), new Set());
        layers.get(layerOf(file))!.add(layerOf(target));
      }
    }
    expect(loops(layers)).to.deep.equal([]);
  });

  it('no loop of imports between files of different folders', () => {
    const crossing = loops(graph).filter((part) => new Set(part.map(dirname)).size > 1);
    expect(crossing).to.deep.equal([]);
  });

  it('finds a loop where there is one (the check itself)', () => {
    const g = new Map([['src/a/x.ts', new Set(['src/b/y.ts'])], ['src/b/y.ts', new Set(['src/a/x.ts'])], ['src/c.ts', new Set(['src/a/x.ts'])]]);
    expect(loops(g)).to.deep.equal([['src/a/x.ts', 'src/b/y.ts']]);
  });
});
