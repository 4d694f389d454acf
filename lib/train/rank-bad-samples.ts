/**
 * Data parallel: the samples every rank replaced reach the run's bad_samples.jsonl. Each rank r > 0
 * keeps its own journal, `bad_samples.rank-<r>.jsonl` (nobody else writes it, so no two processes
 * write one file), and appends a batch's lines before the step that trains on it: once rank 0's
 * step s returns (a collective every rank took part in), every rank's lines of steps <= s are in
 * the journals. Rank 0 then copies them into bad_samples.jsonl, so its count and the record are
 * exact at every step and checkpoint.
 *
 * On resume each rank cuts its own journal after the checkpoint's step, as rank 0 does its record,
 * and rank 0 forwards only lines of this leg's steps: every line reaches the record once.
 */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

import type { RunPaths } from './rundir.js';

/** A line of a rank's journal: step, file, clip, reason, time, rank. */
export type RankBadLine = { step: number; rank: number } & Record<string, unknown>;

/** `<out>/bad_samples.rank-<r>.jsonl`: the journal of rank r (> 0). */
export function rankJournalPath(paths: RunPaths, rank: number): string {
  return join(paths.out, `bad_samples.rank-${rank}.jsonl`);
}

/** Reads the journals of ranks 1..worldSize-1 as they grow and hands out their lines by step. */
export class RankJournalReader {
  private readonly offsets: number[];
  private readonly partial: string[];
  /** A UTF-8 character split by a read boundary stays whole. */
  private readonly decoders: StringDecoder[];
  private pending: RankBadLine[] = [];

  /** Forwards lines of steps after `startStep` (this leg's). */
  constructor(
    private readonly paths: RunPaths,
    private readonly worldSize: number,
    private readonly startStep: number,
  ) {
    this.offsets = new Array(worldSize).fill(0);
    this.partial = new Array(worldSize).fill('');
    this.decoders = Array.from({ length: worldSize }, () => new StringDecoder('utf8'));
  }

  /** Lines of steps in (startStep, step], each once, in rank then file order. */
  take(step: number): RankBadLine[] {
    for (let r = 1; r < this.worldSize; r++) this.readNew(r);
    const now = this.pending.filter((l) => l.step <= step);
    this.pending = this.pending.filter((l) => l.step > step);
    return now;
  }

  private readNew(rank: number): void {
    const file = rankJournalPath(this.paths, rank);
    if (!existsSync(file)) return;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offsets[rank]!);
        if (n <= 0) break;
        this.offsets[rank]! += n;
        const text = this.partial[rank] + this.decoders[rank]!.write(buf.subarray(0, n));
        const lines = text.split('\n');
        // The last piece has no newline yet: a line still being appended.
        this.partial[rank] = lines.pop()!;
        for (const line of lines) {
          if (!line.trim()) continue;
          let o: RankBadLine;
          try {
            o = JSON.parse(line) as RankBadLine;
          } catch {
            continue; // a line cut by a kill in an earlier leg
          }
          if (typeof o.step === 'number' && o.step > this.startStep) this.pending.push({ ...o, rank });
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}
