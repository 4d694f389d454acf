import { TatsError } from './TatsError.js';

/** A checkpoint or safetensors file that cannot be read or written; the message names the file. */
export class CheckpointError extends TatsError {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super('ERR_CHECKPOINT', `${file}: ${message}`, options);
    this.file = file;
  }
}
