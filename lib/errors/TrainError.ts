import { TatsError } from './TatsError.js';

/**
 * A training run could not go on: a run directory in an unexpected state, a checkpoint that does
 * not match the config, a non-finite loss. The CLI exits with 1.
 */
export class TrainError extends TatsError {}
