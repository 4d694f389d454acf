/**
 * Reads a growing JSON-lines file (metrics.jsonl) incrementally. Only complete lines are parsed:
 * a line still being written (no newline yet) waits for the next read, and a complete line that is
 * not a JSON object with a numeric `step` is skipped. A file that shrank or was replaced (a resumed
 * run rewrites metrics.jsonl without the steps after its checkpoint) starts over with `reset`.
 */
import { open, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** One metrics line: `step` plus whatever else the writer logged. */
export type MetricsRow = Record<string, number | string | null> & { step: number };

/** Largest read per call; a longer backlog is read over the following calls. */
const CHUNK = 4 << 20;

export function parseLine(line: string): MetricsRow | null {
  if (!line.trim()) return null;
  try {
    const o = JSON.parse(line) as unknown;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
    const step = (o as { step?: unknown }).step;
    return typeof step === 'number' && Number.isFinite(step) ? (o as MetricsRow) : null;
  } catch {
    return null;
  }
}

export class JsonlTail {
  private offset = 0;
  private ino = -1;
  private partial = '';
  private decoder = new StringDecoder('utf8');

  constructor(readonly path: string) {}

  /**
   * New complete rows since the last read; `reset` when the file was truncated or replaced, `more`
   * when a backlog longer than one read is left.
   */
  async read(): Promise<{ reset: boolean; rows: MetricsRow[]; more: boolean }> {
    const st = await stat(this.path).catch(() => null);
    if (!st) {
      const reset = this.ino !== -1;
      this.restart(-1);
      return { reset, rows: [], more: false };
    }
    let reset = false;
    if (st.ino !== this.ino || st.size < this.offset) {
      reset = this.ino !== -1;
      this.restart(st.ino);
    }
    if (st.size <= this.offset) return { reset, rows: [], more: false };
    const length = Math.min(CHUNK, st.size - this.offset);
    const buf = Buffer.alloc(length);
    const fh = await open(this.path, 'r').catch(() => null);
    if (!fh) return { reset, rows: [], more: false };
    let got = 0;
    try {
      ({ bytesRead: got } = await fh.read(buf, 0, length, this.offset));
    } finally {
      await fh.close();
    }
    this.offset += got;
    const lines = (this.partial + this.decoder.write(buf.subarray(0, got))).split('\n');
    this.partial = lines.pop() ?? '';
    const rows: MetricsRow[] = [];
    for (const line of lines) {
      const r = parseLine(line);
      if (r) rows.push(r);
    }
    return { reset, rows, more: got > 0 && this.offset < st.size };
  }

  /** Everything up to the end of the file now (several reads when the backlog is long). */
  async readAll(): Promise<{ reset: boolean; rows: MetricsRow[] }> {
    const first = await this.read();
    let { more } = first;
    const rows = first.rows;
    while (more) {
      const r = await this.read();
      if (r.reset) return { reset: true, rows: r.rows };
      for (const x of r.rows) rows.push(x);
      more = r.more;
    }
    return { reset: first.reset, rows };
  }

  private restart(ino: number): void {
    this.ino = ino;
    this.offset = 0;
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
  }
}

/** The last complete rows of a file, from its final `bytes` bytes (cheap on a long file). */
export async function lastRows(path: string, bytes = 8192): Promise<MetricsRow[]> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return [];
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    const lines = buf.subarray(0, bytesRead).toString('utf8').split('\n');
    lines.pop(); // after the last newline: empty, or a line still being written
    if (start > 0) lines.shift(); // cut at the front
    return lines.map(parseLine).filter((r): r is MetricsRow => r !== null);
  } finally {
    await fh.close();
  }
}
