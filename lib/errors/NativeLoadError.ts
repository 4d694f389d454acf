import { TatsError } from './TatsError.js';

/** One place the loader looked for the native addon, and why it did not load from there. */
export interface LoadAttempt {
  path: string;
  reason: string;
}

/**
 * The native addon could not be loaded. The message names every place looked for libtorch, every
 * binary considered and why it did not load, what is missing and the command that fixes it.
 */
export class NativeLoadError extends TatsError {
  readonly attempts: LoadAttempt[];

  /** `report`: the loader's full account (lib/loader formatReport); without it the attempts are listed. */
  constructor(attempts: LoadAttempt[], fix: string, report?: string) {
    const tried =
      report ??
      (attempts.length ? `Tried:\n${attempts.map((a) => `  - ${a.path}: ${a.reason}`).join('\n')}` : '  (no candidate binary exists)');
    super('ERR_NATIVE_LOAD', `the tats native addon could not be loaded.\n${tried}${fix ? `\n${fix}` : ''}`);
    this.attempts = attempts;
  }
}
