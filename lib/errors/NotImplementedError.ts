import { TatsError } from './TatsError.js';

/** A feature that is registered (its flags parse) but not implemented in this version. The CLI exits with 1. */
export class NotImplementedError extends TatsError {
  constructor(what: string) {
    super('ERR_NOT_IMPLEMENTED', `${what} is not yet implemented in this version of tats`);
  }
}
