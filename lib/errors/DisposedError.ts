import { TatsError } from './TatsError.js';

/** A method was called on an object after dispose(). */
export class DisposedError extends TatsError {
  constructor(what: string) {
    super('ERR_DISPOSED', `${what} has been disposed; create a new one`);
  }
}
