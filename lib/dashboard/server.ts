/**
 * `tats dashboard`: a read-only web page of the runs under a folder, served by node:http.
 *
 * Routes (GET and HEAD only; anything else is 405):
 *   /                      the page (assets/dashboard/index.html) and /assets/* (its script, styles, uPlot)
 *   /api/runs              every run and compare report: RunSummary[]
 *   /api/run?id=ID         one run: summary, config, eval.json, compare.json, its runs, files present
 *   /api/metrics?id=ID     the complete lines of its metrics.jsonl
 *   /api/events?id=A&id=B  server-sent events: `runs` (the list changed), `run` (a summary changed:
 *                          state, step, a new picture), `metrics` ({id, reset, rows}: new lines)
 *   /files/ID/NAME         a picture, JSON or markdown file of a run
 *
 * Nothing outside the runs folder can be read: request paths are checked segment by segment and
 * resolved through symlinks (safe-path.ts). Bound to 127.0.0.1 it also refuses a Host header
 * that is not a loopback name (a DNS-rebinding page cannot read the runs). The page is static:
 * run names and config strings reach it only as JSON and are shown as text, under a
 * Content-Security-Policy that allows the page's own scripts only.
 *
 * Files are watched by polling (stat + read of the new bytes) while a page is connected, all
 * asynchronous, so a training run in the same process keeps its event loop free.
 */
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, resolve } from 'node:path';
import { realpathSync } from 'node:fs';

import { DASHBOARD_DEFAULTS } from '../config/defaults.js';
import { resolveDashboardConfig, type DashboardChoices } from '../config/dashboard.js';
import { TatsError } from '../errors/index.js';
import { packageRoot } from '../paths.js';
import { describeRun, scanRuns, type RunSummary } from './runs.js';
import { decodeSegments, idSegments, resolveFile, resolveInside } from './safe-path.js';
import { JsonlTail } from './tail.js';

export interface DashboardOptions extends DashboardChoices {
  /** Folder whose runs are shown (searched a few levels deep). Defaults to 'runs'. */
  runs?: string;
  /** TCP port; 0 picks a free one (see `Dashboard.port`). Defaults to 8421. */
  port?: number;
  /**
   * Address to bind. Defaults to '127.0.0.1' (this machine only). Any other address exposes the
   * runs to the network without authentication; a warning is printed then.
   */
  host?: string;
  /** Closes the server when aborted. */
  signal?: AbortSignal;
  /** How often the files of the runs a page shows are checked, in ms. Defaults to 1000. */
  pollMs?: number;
  /** Receives warnings (a non-loopback host). Defaults to writing them to stderr. */
  onWarning?: (line: string) => void;
}

export interface Dashboard {
  /** The page's address, e.g. http://127.0.0.1:8421/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The runs folder (absolute, symlinks resolved). */
  readonly root: string;
  /** Stops serving and ends the open event streams. Idempotent. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export { DASHBOARD_DEFAULTS };

/** Whether `host` only reaches this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The hostname of a Host header ('[::1]:80' -> '::1'). */
function hostName(header: string | undefined): string {
  if (!header) return '';
  const m = /^\[([^\]]*)\](?::\d+)?$/.exec(header);
  if (m) return m[1]!;
  return header.replace(/:\d+$/, '');
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
};
/** Files of a run the page may fetch. */
const SERVED = new Set(['.png', '.gif', '.json', '.jsonl', '.md']);

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

/** The page's static files, read once. */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const dir = join(packageRoot, 'assets', 'dashboard');
  const req = createRequire(import.meta.url);
  const uplot = join(req.resolve('uplot/package.json'), '..', 'dist');
  const files: Array<[string, string]> = [
    ['/', join(dir, 'index.html')],
    ['/assets/app.js', join(dir, 'app.js')],
    ['/assets/app.css', join(dir, 'app.css')],
    ['/assets/uPlot.iife.min.js', join(uplot, 'uPlot.iife.min.js')],
    ['/assets/uPlot.min.css', join(uplot, 'uPlot.min.css')],
  ];
  return new Map(files.map(([route, path]) => [route, { type: TYPES[extname(path)]!, body: readFileSync(path) }]));
}

interface Client {
  res: ServerResponse;
  ids: string[];
  tails: Map<string, JsonlTail>;
  /** Last JSON sent per run summary, and of the run list. */
  sent: Map<string, string>;
  runsSent: string;
}

/**
 * Serves the dashboard of the runs under `options.runs` until `close()` or the signal. Resolves
 * once listening. Throws ConfigError for a missing runs folder or a bad port, and TatsError
 * ERR_DASHBOARD_LISTEN when the port cannot be bound.
 *
 * @example
 * ```ts
 * import { serveDashboard } from 'tats';
 * const d = await serveDashboard({ runs: 'runs', port: 0 });
 * console.log(d.url); // http://127.0.0.1:PORT/
 * ```
 */
export async function serveDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const { runs, port, host, pollMs } = resolveDashboardConfig(options);
  const root = realpathSync(resolve(runs));
  const loopback = isLoopback(host);
  const warn = options.onWarning ?? ((line: string) => process.stderr.write(line + '\n'));
  if (!loopback) warn(`tats dashboard: warning: listening on ${host}: anyone who can reach this address can read the runs under ${root} (no authentication); the default 127.0.0.1 keeps them to this machine`);
  const assets = loadAssets();

  // One scan of the folder is shared by the requests of about one polling interval.
  let scanned: { at: number; runs: Promise<RunSummary[]> } | undefined;
  const scan = (maxAgeMs = pollMs): Promise<RunSummary[]> => {
    if (!scanned || Date.now() - scanned.at > maxAgeMs) scanned = { at: Date.now(), runs: scanRuns(root) };
    return scanned.runs;
  };
  const runDir = async (id: string | null): Promise<string | null> => {
    const segs = id === null ? null : idSegments(id);
    if (!segs) return null;
    const r = await resolveInside(root, segs);
    if ('refused' in r) return null;
    return (await stat(r.path).catch(() => null))?.isDirectory() ? r.path : null;
  };
  const summaryOf = async (id: string): Promise<RunSummary | undefined> => {
    // The folder scan (for a compare report's state and a run's parent) may be as old as the run
    // list's refresh; a run's own files are read now.
    const listed = (await scan(3 * pollMs)).find((r) => r.id === id);
    if (listed?.kind === 'compare') return listed;
    const dir = await runDir(id);
    if (!dir) return listed;
    const s = await describeRun(dir, id);
    return listed?.parent !== undefined ? { ...s, parent: listed.parent } : s;
  };

  const clients = new Set<Client>();
  const send = (c: Client, event: string, data: unknown) => {
    c.res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };

  let timer: NodeJS.Timeout | undefined;
  let ticks = 0;
  let polling = false;
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      ticks++;
      const list = ticks % 3 === 0 ? JSON.stringify(await scan(0)) : undefined;
      for (const c of clients) {
        if (list !== undefined && list !== c.runsSent) {
          c.runsSent = list;
          c.res.write(`event: runs\ndata: ${list}\n\n`);
        }
        for (const id of c.ids) {
          const tail = c.tails.get(id);
          if (tail) {
            const r = await tail.read();
            if (r.reset || r.rows.length) send(c, 'metrics', { id, reset: r.reset, rows: r.rows });
          }
          const s = await summaryOf(id);
          const json = JSON.stringify(s ?? null);
          if (json !== c.sent.get(id)) {
            c.sent.set(id, json);
            send(c, 'run', s ?? { id, missing: true });
          }
        }
        if (ticks % Math.max(1, Math.round(15_000 / pollMs)) === 0) c.res.write(':\n\n');
      }
    } catch (err) {
      warn(`tats dashboard: ${(err as Error).message}`);
    } finally {
      polling = false;
    }
  };
  const watch = () => {
    if (!timer && clients.size) {
      timer = setInterval(() => void poll(), pollMs);
      timer.unref();
    }
  };
  const unwatch = (c: Client) => {
    clients.delete(c);
    if (!clients.size && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const reply = (code: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
      res.writeHead(code, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-cache', ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const json = (code: number, v: unknown) => reply(code, TYPES['.json']!, JSON.stringify(v));
    const fail = (code: number, message: string, extra: Record<string, string> = {}) => reply(code, 'text/plain; charset=utf-8', message + '\n', extra);
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'the dashboard is read-only: GET and HEAD only', { allow: 'GET, HEAD' });
    if (loopback && !isLoopback(hostName(req.headers.host))) return fail(403, 'this dashboard answers to localhost, 127.0.0.1 and [::1] only');
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    if (/[\\\0]/.test(path) || !path.startsWith('/')) return fail(400, 'bad path');

    const asset = assets.get(path);
    if (asset) return reply(200, asset.type, asset.body);
    if (path === '/api/runs') return json(200, { root: basename(root), runs: await scan() });
    if (path === '/api/run' || path === '/api/metrics') {
      const id = params.get('id');
      const dir = await runDir(id);
      if (!dir || id === null) return fail(404, 'no such run under the runs folder');
      if (path === '/api/metrics') return json(200, { id, rows: (await new JsonlTail(join(dir, 'metrics.jsonl')).readAll()).rows });
      return json(200, await detail(dir, id));
    }
    if (path === '/api/events') {
      const ids = [...new Set(params.getAll('id'))].slice(0, 64);
      for (const id of ids) if (!(await runDir(id))) return fail(404, 'no such run under the runs folder');
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
      if (req.method === 'HEAD') return void res.end();
      const c: Client = { res, ids, tails: new Map(), sent: new Map(), runsSent: JSON.stringify(await scan()) };
      res.write('retry: 2000\n\n');
      res.write(`event: runs\ndata: ${c.runsSent}\n\n`);
      for (const id of ids) {
        const tail = new JsonlTail(join((await runDir(id))!, 'metrics.jsonl'));
        c.tails.set(id, tail);
        send(c, 'metrics', { id, reset: true, rows: (await tail.readAll()).rows });
        const s = await summaryOf(id);
        c.sent.set(id, JSON.stringify(s ?? null));
        if (s) send(c, 'run', s);
      }
      clients.add(c);
      req.on('close', () => unwatch(c));
      watch();
      return;
    }
    if (path.startsWith('/files/')) {
      const segs = decodeSegments(path.slice('/files/'.length));
      if (!segs || !segs.length) return fail(403, 'refused: not a path inside the runs folder');
      if (!SERVED.has(extname(segs.at(-1)!).toLowerCase())) return fail(403, 'refused: only pictures, JSON and markdown files of runs are served');
      const f = await resolveFile(root, segs);
      if ('refused' in f) return f.refused === 'bad' ? fail(403, 'refused: not a path inside the runs folder') : fail(404, 'not found');
      // Read whole (pictures are replaced atomically: a rename never leaves half a file to read).
      const body = await readFile(f.path).catch(() => null);
      if (!body) return fail(404, 'not found');
      return reply(200, TYPES[extname(f.path).toLowerCase()] ?? 'application/octet-stream', body, { 'last-modified': new Date(f.mtimeMs).toUTCString() });
    }
    return fail(404, 'not found');
  };

  const detail = async (dir: string, id: string) => {
    const all = await scan();
    const summary = (await summaryOf(id)) ?? (await describeRun(dir, id));
    const read = async (name: string) => {
      try {
        return JSON.parse(await readFile(join(dir, name), 'utf8')) as unknown;
      } catch {
        return null;
      }
    };
    const names = ['reconstruction.png', 'reconstruction.gif', 'compare.png', 'loss.png', 'report.md', 'confusion.md'];
    const present = await Promise.all(names.map(async (n) => ((await stat(join(dir, n)).catch(() => null))?.isFile() ? n : null)));
    return {
      summary,
      config: await read('config.json'),
      eval: await read('eval.json'),
      compare: await read('compare.json'),
      children: all.filter((r) => r.parent === id),
      files: present.filter((n): n is string => n !== null),
    };
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      } else res.end();
      warn(`tats dashboard: ${(err as Error).message}`);
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      fail(
        new TatsError(
          'ERR_DASHBOARD_LISTEN',
          err.code === 'EADDRINUSE' ? `port ${port} on ${host} is in use (pass --port 0 for any free port, or another port)` : `cannot listen on ${host}:${port}: ${err.message}`,
          { cause: err },
        ),
      ),
    );
    server.listen(port, host, () => ok());
  });
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((ok) => {
      if (timer) clearInterval(timer);
      for (const c of clients) c.res.end();
      clients.clear();
      server.close(() => ok());
      server.closeAllConnections();
    });
    return closed;
  };
  options.signal?.addEventListener('abort', () => void close(), { once: true });
  if (options.signal?.aborted) await close();
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${shownHost}:${bound}/`, host, port: bound, root, close, [Symbol.asyncDispose]: close };
}
