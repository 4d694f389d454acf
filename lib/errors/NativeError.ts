import { TatsError } from './TatsError.js';

/**
 * A failure inside the native engine (libtorch, CUDA, the kernels). `code` is the native code:
 * ERR_OUT_OF_MEMORY (host or device memory, the message says which and how much), ERR_CONFIG (a
 * value the addon refuses, named), ERR_BUSY, ERR_DISPOSED, ERR_TORCH, ERR_TORCH_INDEX,
 * ERR_TORCH_VALUE, ERR_TORCH_TYPE, ERR_NATIVE, ... (docs/reliability.md lists them).
 */
export class NativeError extends TatsError {}

/**
 * Re-throws an error that came out of the addon as a NativeError whose stack is the caller's,
 * so a failure deep in a promise points at the line that started the work.
 */
export function rethrowNative(err: unknown, callerStack?: Error): never {
  if (err instanceof TatsError) throw err;
  if (err instanceof TypeError) throw err;
  if (err instanceof Error) {
    const raw = (err as Error & { code?: unknown }).code;
    const code = typeof raw === 'string' ? raw : 'ERR_NATIVE';
    const wrapped = new NativeError(code, err.message, { cause: err });
    if (callerStack?.stack) wrapped.stack = `${wrapped.name}: ${err.message}\n${callerStack.stack.split('\n').slice(1).join('\n')}`;
    throw wrapped;
  }
  throw new NativeError('ERR_NATIVE', String(err));
}
