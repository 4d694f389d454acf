/**
 * The lifetime that Session and ClassifierSession share around their native handle: calls go to
 * the handle until dispose(), throw ERR_DISPOSED after, and a native failure is re-thrown as a
 * NativeError with the caller's stack (the native promise's own stack says nothing useful).
 */
import { DisposedError, rethrowNative } from './errors/index.js';

export abstract class NativeBacked<H extends { dispose(): void }> {
  /** @internal */
  #native: H | undefined;
  readonly #name: string;

  /** `name` is the class that DisposedError names ('Session', 'ClassifierSession'). */
  protected constructor(handle: H, name: string) {
    this.#native = handle;
    this.#name = name;
  }

  get disposed(): boolean {
    return this.#native === undefined;
  }

  /** Frees the native model and optimiser; every later call throws ERR_DISPOSED. */
  dispose(): void {
    this.#native?.dispose();
    this.#native = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  /** @internal The live handle; throws ERR_DISPOSED after dispose(). */
  protected handle(): H {
    if (!this.#native) throw new DisposedError(this.#name);
    return this.#native;
  }

  /** @internal One async native call on the live handle. */
  protected async call<T>(fn: (handle: H) => Promise<T>): Promise<T> {
    const handle = this.handle();
    const caller = new Error();
    try {
      return await fn(handle);
    } catch (err) {
      rethrowNative(err, caller);
    }
  }
}
