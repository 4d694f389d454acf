export { TatsError } from './TatsError.js';
export { ConfigError, describeValue } from './ConfigError.js';
export { NativeLoadError, type LoadAttempt } from './NativeLoadError.js';
export { NativeError, rethrowNative } from './NativeError.js';
export { DisposedError } from './DisposedError.js';
export { NotImplementedError } from './NotImplementedError.js';
export { TrainError } from './TrainError.js';
export { CheckpointError } from './CheckpointError.js';
export { DataError } from './DataError.js';
