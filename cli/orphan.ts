/**
 * The CLI never outlives the process that started it. `npx tats` runs tats as
 * `npm exec` -> `sh -c tats ...` -> node: a kill -9 of npm leaves the shell and this process
 * running, with no one to see their output or stop them. So the parent, and above it any `sh -c`
 * wrappers up to the first other process, are watched (once a second, from /proc); when one of
 * them is gone (or its pid now belongs to another process) this process sends itself SIGTERM:
 * `tats pretrain` then finishes the step in flight, writes a checkpoint and exits, like on Ctrl-C.
 * If it is still there two minutes later, it exits at once.
 *
 * Not watched: a process started with SIGHUP ignored (`nohup tats ... &`, meant to outlive its
 * shell), one whose parent is init, or when TATS_PARENT_WATCH=0.
 */
import { readFileSync } from 'node:fs';

interface Watched {
  pid: number;
  start: number | undefined;
}

function stat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After "pid (comm) ": state, ppid, ..., field 22 starttime is index 19 here.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
  } catch {
    return [];
  }
}

/** True when `pid` is a `sh -c ...` (or bash/dash) that only runs a command for its own parent. */
function isShellWrapper(pid: number): boolean {
  const argv = cmdline(pid);
  const name = (argv[0] ?? '').split('/').pop() ?? '';
  return ['sh', 'bash', 'dash'].includes(name) && argv[1] === '-c';
}

function sighupIgnored(): boolean {
  try {
    const m = /^SigIgn:\s*([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & 1n) === 1n; // bit 0: SIGHUP (1)
  } catch {
    return false;
  }
}

/** The processes whose end means this one is orphaned (see the module comment). */
export function watchedAncestors(): Watched[] {
  const out: Watched[] = [];
  let pid = process.ppid;
  for (let depth = 0; depth < 8 && pid > 1; depth++) {
    const s = stat(pid);
    if (!s) break;
    out.push({ pid, start: Number(s[19]) });
    if (!isShellWrapper(pid)) break;
    pid = Number(s[1]);
  }
  return out;
}

function gone(w: Watched): boolean {
  const s = stat(w.pid);
  return s === undefined || s[0] === 'Z' || (w.start !== undefined && Number(s[19]) !== w.start);
}

/** Starts the watch (see the module comment); the timer does not keep the process alive. */
export function exitWithParent(opts: { intervalMs?: number; graceMs?: number } = {}): void {
  if (process.platform !== 'linux' || process.env.TATS_PARENT_WATCH === '0' || sighupIgnored()) return;
  const watched = watchedAncestors();
  if (watched.length === 0) return;
  const ppid = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === ppid && !watched.some(gone)) return;
    clearInterval(timer);
    process.stderr.write(`tats: the process that started this one (pid ${watched.map((w) => w.pid).join(' <- ')}) is gone: stopping\n`);
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), opts.graceMs ?? 120_000).unref();
    process.kill(process.pid, 'SIGTERM');
  }, opts.intervalMs ?? 1000);
  timer.unref();
}
