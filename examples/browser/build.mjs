// npm run build:browser: the library's core (dist/src/index.js, built by tsc) bundled for pages
// with esbuild: dist/browser/ddpm-ts.js, an ES module, with gpu.js in a chunk of its own that
// loads only when the gpu backend opens. The build fails if anything in it reaches for Node (a
// `node:` module or a Node built-in): the core must not import one, and what needs Node lives
// under src/node/, which the browser entry never loads.

import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = new URL('../../', import.meta.url);
const nodeModules = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** An esbuild plugin that refuses every import of a Node module, naming the file that asked for it. */
export const noNode = {
  name: 'no-node',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!nodeModules.has(args.path) && !args.path.startsWith('node:')) return undefined;
      return { errors: [{ text: `${args.importer} imports the Node module '${args.path}': the browser bundle must not (move that code under src/node/)` }] };
    });
  },
};

/** Bundles `entry` for browsers into `outdir`; resolves to the output files, or rejects with esbuild's errors. */
export async function buildBrowser({ entry = fileURLToPath(new URL('dist/src/index.js', root)), outdir = fileURLToPath(new URL('dist/browser/', root)) } = {}) {
  const result = await build({
    // The cpu backend's Web Worker is an entry of its own, beside the library (src/browser/threads.ts loads it from there).
    entryPoints: { 'ddpm-ts': entry, 'cpu-worker': fileURLToPath(new URL('dist/src/browser/cpu-worker.js', root)) },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    metafile: true,
    plugins: [noNode],
    logLevel: 'silent',
  });
  return { inputs: Object.keys(result.metafile.inputs), outputs: Object.entries(result.metafile.outputs).filter(([n]) => n.endsWith('.js')).map(([n, o]) => ({ file: n, bytes: o.bytes })) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { inputs, outputs } = await buildBrowser();
  console.log(`bundled ${inputs.length} modules: ${outputs.map((o) => `${o.file} (${Math.round(o.bytes / 1024)} kB)`).join(', ')}`);
}
