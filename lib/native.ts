/**
 * The only module that loads the native addon. Everything else imports `native()` and the
 * addon's types from here (they are declared in lib/native-types.ts and lib/native-testing.ts).
 * @internal
 */
import { createRequire } from 'node:module';

import { NativeLoadError, type LoadAttempt } from './errors/index.js';
import { chooseNative, explainLoadError, formatReport, runPreload, type LoadChoice, type LoadReport } from './loader/index.js';
import type { NativeAddon } from './native-types.js';
import { packageRoot } from './paths.js';

export type * from './native-types.js';
export type * from './native-testing.js';

let loaded: { addon: NativeAddon; path: string; choice: LoadChoice; report: LoadReport } | undefined;

/**
 * Loads the addon once and returns it. lib/loader chooses the binary (TATS_NATIVE, a local build,
 * or the prebuilt variant that matches a libtorch found on this machine), test-loads it in a child
 * process, then this process preloads that libtorch and requires it. Throws NativeLoadError naming
 * every place looked, what was found, what is missing and the command that fixes it.
 */
export function native(): NativeAddon {
  if (loaded) return loaded.addon;
  const report = chooseNative(packageRoot);
  const attempts: LoadAttempt[] = report.binaries.filter((b) => !b.found).map((b) => ({ path: b.place, reason: b.detail }));
  if (process.env.TATS_DEBUG_LOADER) process.stderr.write(`tats loader:\n${formatReport(report)}\n`);
  const choice = report.choice;
  if (!choice) throw new NativeLoadError(attempts, '', formatReport(report));
  try {
    if (choice.helper) runPreload(choice.helper, choice.preload, choice.fallbacks);
    const addon = createRequire(import.meta.url)(choice.path) as NativeAddon;
    loaded = { addon, path: choice.path, choice, report };
    return addon;
  } catch (err) {
    // The child loaded it but this process cannot: another libtorch already loaded here, usually.
    const reason = explainLoadError(err instanceof Error ? err.message : String(err));
    attempts.push({ path: choice.path, reason });
    throw new NativeLoadError(attempts, `It loaded in a test process but not in this one: ${reason}. Set TATS_DEBUG_LOADER=1 for the loader's account.`, formatReport(report));
  }
}

/** The path of the loaded binary (loads it if needed). */
export function nativePath(): string {
  native();
  return loaded!.path;
}

/** How the loaded binary was chosen: variant, libtorch, preloaded libraries, why (loads it if needed). */
export function nativeLoad(): { choice: LoadChoice; report: LoadReport } {
  native();
  return { choice: loaded!.choice, report: loaded!.report };
}
