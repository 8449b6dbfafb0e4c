// npm run demo: builds the browser bundle, then serves the demo page on 127.0.0.1 with the
// headers that make it cross-origin isolated (COOP/COEP), which SharedArrayBuffer needs.
//
//   node examples/browser/serve.mjs [--port N]     (N = 0 picks a free port)
//
// Served: the page (examples/browser/), the bundle (dist/browser/ as /lib/), and the PyTorch
// fixtures (test/fixtures/ as /fixtures/, for the page's self-check).

import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const routes = [
  ['/lib/', join(root, 'dist', 'browser')],
  ['/fixtures/', join(root, 'test', 'fixtures')],
  ['/', join(root, 'examples', 'browser')],
];
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.map': 'application/json', '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.png': 'image/png', '.safetensors': 'application/octet-stream' };

/** The file a URL path names, or null when it leaves its folder or does not exist. */
async function fileFor(urlPath) {
  const path = decodeURIComponent(urlPath.split('?')[0]);
  for (const [prefix, dir] of routes) {
    if (!path.startsWith(prefix)) continue;
    const file = normalize(join(dir, path.slice(prefix.length) || 'index.html'));
    if (file !== dir && !file.startsWith(dir + sep)) return null;
    const info = await stat(file).catch(() => null);
    return info?.isFile() ? file : null;
  }
  return null;
}

/** Starts the server; resolves to { url, close }. */
export function startServer({ port = 8080, host = '127.0.0.1' } = {}) {
  const server = createServer(async (req, res) => {
    const file = await fileFor(req.url ?? '/');
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cache-Control': 'no-store' };
    if (!file) {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': types[extname(file)] ?? 'application/octet-stream' }).end(await readFile(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: actual } = server.address();
      resolve({ url: `http://${host}:${actual}/`, close: () => new Promise((done) => server.close(done)) });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const usage = 'Serves the demo page on http://127.0.0.1:PORT/ (npm run demo).\n\nUsage: node examples/browser/serve.mjs [--port 8080]   (0 picks a free port)';
  /** One line on stderr and an exit code (2: how it was called, 1: anything else); DDPM_DEBUG=1 adds the stack. */
  const fail = (message, code, e) => {
    if (process.env.DDPM_DEBUG && e) console.error(e);
    console.error(`error: ${message}${code === 2 ? `\n\n${usage}` : ''}`);
    process.exit(code);
  };
  let values;
  try {
    ({ values } = parseArgs({ options: { port: { type: 'string', default: '8080' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (e) {
    fail(e.message, 2, e);
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const port = /^\d+$/.test(values.port) ? Number(values.port) : NaN;
  if (!(port >= 0 && port <= 65535)) fail(`--port must be a whole number from 0 to 65535 (0 picks a free one), got ${JSON.stringify(values.port)}`, 2);
  // The port first: a taken one is said at once, not after the build.
  let url;
  try {
    ({ url } = await startServer({ port }));
  } catch (e) {
    const why = { EADDRINUSE: `port ${port} is in use by another program`, EACCES: `port ${port} needs more rights (ports below 1024 are for root)` }[e.code] ?? e.message;
    fail(`cannot serve the demo on 127.0.0.1:${port}: ${why}; choose another with npm run demo -- --port N (0 picks a free one)`, 1, e);
  }
  console.log('building the page\'s bundle (dist/browser/) …');
  try {
    const { buildBrowser } = await import('./build.mjs');
    await buildBrowser();
  } catch (e) {
    fail(`cannot build the page's bundle: ${e.message.split('\n')[0]}`, 1, e);
  }
  console.log(`ddpm-ts demo: ${url}  (Ctrl-C stops it)`);
}
