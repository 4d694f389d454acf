import { refuseRetiredEnv } from '../lib/retired-env.js';
import { ConfigError, TatsError } from '../lib/errors/index.js';

/**
 * Exit codes of the CLI contract: 0 success, 1 runtime failure, 2 bad usage or invalid config,
 * 3 damaged data (a shard clip failing its checksum, a damaged shard index, too many samples
 * that fail to load), 4 the run directory is in use by another process.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_DAMAGED = 3;
export const EXIT_LOCKED = 4;

const DAMAGE_CODES = new Set(['ERR_SHARD_CHECKSUM', 'ERR_SHARD_INDEX', 'ERR_DATA_TOO_MANY_BAD', 'ERR_DATA_DUPLICATE', 'ERR_DATA_LABEL']);

/** Prints an error the way users should see it and returns the exit code it maps to. */
export function reportError(err: unknown, json: boolean): number {
  const message = err instanceof Error ? err.message : String(err);
  const errCode = err instanceof TatsError || (err instanceof Error && 'code' in err) ? (err as { code: string }).code : undefined;
  const code =
    err instanceof ConfigError ? EXIT_USAGE : errCode && DAMAGE_CODES.has(errCode) ? EXIT_DAMAGED : errCode === 'ERR_RUN_LOCKED' ? EXIT_LOCKED : EXIT_FAILURE;
  process.stderr.write(`tats: error${errCode ? ` [${errCode}]` : ''}: ${message}\n`);
  if (process.env.TATS_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  if (json) process.stdout.write(JSON.stringify({ error: { code: errCode ?? 'ERR_UNKNOWN', message } }) + '\n');
  return code;
}

/**
 * Wraps a command handler: refuses a retired environment switch (lib/retired-env.ts) before
 * the command starts, and maps thrown errors to exit codes.
 */
export function handler<A extends { json?: boolean }>(fn: (args: A) => Promise<void> | void) {
  return async (args: A): Promise<void> => {
    try {
      refuseRetiredEnv();
      await fn(args);
    } catch (err) {
      process.exitCode = reportError(err, Boolean(args.json));
    }
  };
}
