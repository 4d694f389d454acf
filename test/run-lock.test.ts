// The run directory under concurrent and interrupted use: the lock (a second writer refused, a
// dead one's lock taken over), leftovers of interrupted checkpoint writes and prunes cleaned, and
// the CLI stopping when the process that started it is killed (npx: npm -> sh -c -> node).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readMetrics } from '../lib/index.js';
import { checkpointName, cleanRunLeftovers, listCheckpoints, lockRun, pruneCheckpoints, runPaths } from '../lib/train/rundir.js';
import { packageRoot } from '../lib/paths.js';
import { runCli, tinyPretrain } from './helpers.js';

const root = mkdtempSync(join(tmpdir(), 'tats-runlock-'));
const cli = join(packageRoot, 'dist', 'cli', 'tats.js');

const tiny = tinyPretrain;

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function fakeCheckpoint(dir: string, complete: boolean): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.safetensors'), 'x');
  if (complete) writeFileSync(join(dir, 'meta.json'), '{}');
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function running(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('run lock', () => {
  it('refuses a second holder, naming the pid; takes over a dead process lock; releases', () => {
    const paths = runPaths(join(root, 'lock'));
    const a = lockRun(paths);
    expect(a.tookOver).toBeNull();
    expect(JSON.parse(readFileSync(a.path, 'utf8')).pid).toBe(process.pid);
    expect(() => lockRun(paths)).toThrow(new RegExp(`in use by process ${process.pid} .*two runs cannot share it`));
    a.release();
    expect(existsSync(a.path)).toBe(false);

    const dead = deadPid();
    writeFileSync(a.path, JSON.stringify({ pid: dead, host: hostname(), since: 'then' }));
    const b = lockRun(paths);
    expect(b.tookOver?.pid).toBe(dead);
    b.release();

    writeFileSync(a.path, JSON.stringify({ pid: process.pid, host: 'elsewhere', since: 'then' }));
    expect(() => lockRun(paths)).toThrow(/process \d+ on host elsewhere .*delete/);
  });
});

describe('leftovers of interrupted writes and prunes', () => {
  it('prune renames before removing; the next start removes partial folders and .tmp files', () => {
    const paths = runPaths(join(root, 'left'));
    for (const s of [4, 8, 12]) fakeCheckpoint(join(paths.checkpoints, checkpointName(s)), true);
    pruneCheckpoints(paths, 2);
    expect(listCheckpoints(paths).map((c) => c.step)).toEqual([8, 12]);
    expect(readdirSync(paths.checkpoints).sort()).toEqual([checkpointName(8), checkpointName(12)]);

    // What a kill leaves: a prune between rename and removal, a write without meta.json, temp files.
    fakeCheckpoint(join(paths.checkpoints, `${checkpointName(4)}.pruning`), false);
    fakeCheckpoint(join(paths.checkpoints, checkpointName(16)), false);
    writeFileSync(join(paths.checkpoints, checkpointName(12), '.state.safetensors.123.abc.tmp'), 'x');
    writeFileSync(join(paths.out, 'config.json.tmp'), 'x');
    writeFileSync(join(paths.out, 'reconstruction.png.tmp'), 'x');
    writeFileSync(join(paths.out, 'metrics.jsonl'), '');
    const removed = cleanRunLeftovers(paths);
    expect(removed).toHaveLength(5);
    expect(readdirSync(paths.checkpoints).sort()).toEqual([checkpointName(8), checkpointName(12)]);
    expect(readdirSync(join(paths.checkpoints, checkpointName(12)))).toEqual(['meta.json', 'model.safetensors']);
    expect(readdirSync(paths.out).sort()).toEqual(['checkpoints', 'metrics.jsonl']);
  });
});

describe('pretrain (CLI): one writer per run, never an orphan', () => {
  it('a second --resume on a running run exits 4 naming the pid; a kill -9 of the launcher stops the trainer', async () => {
    const config = join(root, 'tiny.json');
    writeFileSync(config, JSON.stringify({ ...tiny, steps: 400, checkpointEvery: 1000 }));
    const out = join(root, 'run');
    const paths = runPaths(out);
    // As npx starts it: a launcher process -> sh -c -> node tats.js (the `; true` keeps sh there).
    const launcher = spawn(
      process.execPath,
      ['-e', `const c=require('child_process').spawn('sh',['-c',process.argv[1]+'; true'],{stdio:'ignore'});process.stdout.write(c.pid+'\\n');setInterval(()=>{},1e6)`,
        `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} pretrain --config ${JSON.stringify(config)} --out ${JSON.stringify(out)} --no-picture --json`],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const shPid = await new Promise<number>((res) => launcher.stdout.once('data', (d: Buffer) => res(Number(String(d).trim()))));
    await until('a few logged steps', () => readMetrics(paths.metrics).length >= 2);
    const lock = JSON.parse(readFileSync(join(out, '.lock'), 'utf8')) as { pid: number };
    const ppid = readFileSync(`/proc/${lock.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1];
    expect(Number(ppid)).toBe(shPid);

    const second = runCli(['pretrain', '--config', config, '--out', out, '--resume', '--no-picture']);
    expect(second.status, second.stderr).toBe(4);
    expect(second.stderr).toMatch(new RegExp(`ERR_RUN_LOCKED.*in use by process ${lock.pid}`));

    launcher.kill('SIGKILL');
    // The trainer notices within a second, finishes its step, writes a checkpoint and exits.
    await until('the trainer to exit', () => !running(lock.pid), 30_000);
    await until('its shell to exit', () => !running(shPid), 5_000);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    const steps = readMetrics(paths.metrics).map((l) => l.step as number);
    expect(steps).toEqual([...steps.keys()].map((i) => i + 1)); // one writer: every step once, in order
    expect(listCheckpoints(paths).at(-1)?.step).toBe(steps.at(-1));
  });
});

/** Every file under `dir` with its size and modification time, and metrics.jsonl's bytes. */
function snapshot(dir: string): { files: string[]; metrics: string } {
  const files: string[] = [];
  const walk = (rel: string) => {
    for (const f of readdirSync(join(dir, rel)).sort()) {
      const p = rel ? `${rel}/${f}` : f;
      const st = statSync(join(dir, p));
      if (st.isDirectory()) walk(p);
      else files.push(`${p} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk('');
  return { files, metrics: readFileSync(join(dir, 'metrics.jsonl'), 'utf8') };
}

describe('pretrain (CLI): two concurrent --resume on one run', () => {
  it('the second exits 4 naming the first, before writing anything: metrics.jsonl and every file untouched', async () => {
    const config = join(root, 'resume.json');
    writeFileSync(config, JSON.stringify({ ...tiny, steps: 400, checkpointEvery: 3 }));
    const out = join(root, 'resumed');
    const paths = runPaths(out);
    const args = [cli, 'pretrain', '--config', config, '--out', out, '--resume', '--no-picture'];
    const exited = (p: ReturnType<typeof spawn>) =>
      new Promise<number | null>((res) => (p.exitCode !== null || p.signalCode !== null ? res(p.exitCode) : p.once('exit', (c) => res(c))));
    // A run with a checkpoint, killed: the run the two --resume continue.
    const first = spawn(process.execPath, args, { stdio: 'ignore' });
    await until('a checkpoint', () => (listCheckpoints(paths).at(-1)?.step ?? 0) >= 3);
    first.kill('SIGKILL');
    await exited(first);
    const from = listCheckpoints(paths).at(-1)!.step;

    // The first --resume takes the run over and trains on.
    const a = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let aErr = '';
    let aOut = '';
    a.stderr!.on('data', (d: Buffer) => (aErr += String(d)));
    a.stdout!.on('data', (d: Buffer) => (aOut += String(d)));
    const aExit = exited(a);
    const lockPid = () => {
      try {
        return (JSON.parse(readFileSync(join(out, '.lock'), 'utf8')) as { pid: number }).pid;
      } catch {
        return 0;
      }
    };
    await until('the resumed run to log steps past its checkpoint', () => lockPid() === a.pid && (readMetrics(paths.metrics).at(-1)?.step as number) >= from + 2);
    // Frozen while the second one runs, so that any change to the directory is the second one's.
    process.kill(a.pid!, 'SIGSTOP');
    const before = snapshot(out);
    const second = runCli(args.slice(1));
    const after = snapshot(out);
    process.kill(a.pid!, 'SIGCONT');
    expect(second.status, second.stderr).toBe(4);
    expect(second.stderr).toMatch(new RegExp(`ERR_RUN_LOCKED.*${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*in use by process ${a.pid} \\(since`));
    expect(after.metrics).toBe(before.metrics);
    expect(after.files).toEqual(before.files);

    // The first goes on, then stops as on Ctrl-C: every step once, in order, from one writer.
    await until('a step logged after the refusal', () => snapshot(out).metrics !== before.metrics);
    a.kill('SIGINT');
    expect(await aExit, aErr).toBe(1); // stopped before its last step (exit 1), a checkpoint written
    expect(aOut).toMatch(/stopped: step \d+\/400/);
    expect(aOut + aErr).toMatch(/took over the stale lock of process \d+/);
    expect(existsSync(join(out, '.lock'))).toBe(false);
    const steps = readMetrics(paths.metrics).map((l) => l.step as number);
    expect(steps).toEqual([...steps.keys()].map((i) => i + 1));
    expect(steps.length).toBeGreaterThan(from + 2);
    expect(listCheckpoints(paths).at(-1)?.step).toBe(steps.at(-1));
  });
});
