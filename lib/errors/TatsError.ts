/** Base class of every error tats throws on purpose. `code` is stable and machine-readable. */
export class TatsError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
