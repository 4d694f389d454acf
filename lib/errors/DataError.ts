import { TatsError } from './TatsError.js';

/**
 * A data problem that stops the work: an unreadable annotation file, a dataset layout that is not
 * there, a shard that fails its checksum, too many bad samples. Single bad videos do not throw:
 * they become typed results and are counted.
 * Codes: ERR_DATA_ANNOTATION, ERR_DATA_LAYOUT, ERR_SHARD_CHECKSUM, ERR_SHARD_INDEX, ERR_DATA_TOO_MANY_BAD,
 * ERR_FFMPEG_MISSING.
 */
export class DataError extends TatsError {}
