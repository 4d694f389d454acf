import { ConfigError, TatsError } from '../lib/errors/index.js';

/** Exit codes of the CLI contract: 0 success, 1 runtime failure, 2 bad usage or invalid config. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Prints an error the way users should see it and returns the exit code it maps to. */
export function reportError(err: unknown, json: boolean): number {
  const code = err instanceof ConfigError ? EXIT_USAGE : EXIT_FAILURE;
  const message = err instanceof Error ? err.message : String(err);
  const errCode = err instanceof TatsError || (err instanceof Error && 'code' in err) ? (err as { code: string }).code : undefined;
  process.stderr.write(`tats: error${errCode ? ` [${errCode}]` : ''}: ${message}\n`);
  if (process.env.TATS_DEBUG && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  if (json) process.stdout.write(JSON.stringify({ error: { code: errCode ?? 'ERR_UNKNOWN', message } }) + '\n');
  return code;
}

/** Wraps a command handler: maps thrown errors to exit codes. */
export function handler<A extends { json?: boolean }>(fn: (args: A) => Promise<void> | void) {
  return async (args: A): Promise<void> => {
    try {
      await fn(args);
    } catch (err) {
      process.exitCode = reportError(err, Boolean(args.json));
    }
  };
}
