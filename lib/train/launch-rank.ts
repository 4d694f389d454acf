/**
 * One rank started by launchPretrain() (lib/train/launch.ts): waits for the 'start' message,
 * trains with the environment the launcher set (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_*), sends
 * progress and the result (rank 0) or its error back, and exits 0 (1 on failure).
 */
import { ConfigError } from '../errors/index.js';
import type { LaunchMessage } from './launch.js';
import { pretrain } from './trainer.js';

function send(m: LaunchMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });
}

const ac = new AbortController();
const rank = Number(process.env.RANK ?? 0);
// The launcher coordinates stopping: a terminal's Ctrl-C reaches every process of the group, and
// only the launcher's 'stop' makes all ranks stop after the same step.
process.on('SIGINT', () => undefined);
// Without the launcher nobody collects this rank: end at once (a collective may be blocking).
const orphaned = () => process.kill(process.pid, 'SIGKILL');
process.on('disconnect', orphaned);

function finish(code: number): void {
  process.off('disconnect', orphaned);
  if (process.connected) process.disconnect();
  process.exit(code);
}

process.on('message', (raw) => {
  const m = raw as LaunchMessage;
  if (m.type === 'stop') {
    ac.abort();
    return;
  }
  if (m.type !== 'start') return;
  void (async () => {
    try {
      const result = await pretrain(m.options, {
        resume: m.resume,
        signal: ac.signal,
        ...(m.cudaAvailable !== undefined ? { cudaAvailable: m.cudaAvailable } : {}),
        ...(rank === 0 ? { onProgress: (progress) => void send({ type: 'progress', progress }) } : {}),
      });
      if (rank === 0) await send({ type: 'result', result });
      finish(0);
    } catch (err) {
      const e = err as Error & { code?: string };
      await send({
        type: 'error',
        name: e?.name ?? 'Error',
        message: e?.message ?? String(err),
        ...(e?.code ? { code: e.code } : {}),
        ...(err instanceof ConfigError ? { field: err.field, value: err.value, allowed: err.allowed } : {}),
      });
      finish(err instanceof ConfigError ? 2 : 1);
    }
  })();
});
