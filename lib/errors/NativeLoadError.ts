import { TatsError } from './TatsError.js';

/** One place the loader looked for the native addon, and why it did not load from there. */
export interface LoadAttempt {
  path: string;
  reason: string;
}

/** The native addon could not be loaded. The message lists every path tried and how to build one. */
export class NativeLoadError extends TatsError {
  readonly attempts: LoadAttempt[];

  constructor(attempts: LoadAttempt[], fix: string) {
    const tried = attempts.length
      ? attempts.map((a) => `  - ${a.path}: ${a.reason}`).join('\n')
      : '  (no candidate binary exists)';
    super('ERR_NATIVE_LOAD', `the tats native addon could not be loaded. Tried:\n${tried}\n${fix}`);
    this.attempts = attempts;
  }
}
