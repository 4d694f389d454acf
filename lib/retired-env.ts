/**
 * Environment variables that used to change the training step without being recorded anywhere.
 * Each is a field of the `runtime` section now (lib/config/types.ts `RuntimeConfig`, written into the run's
 * config.json and the bench record); a process that still sets one is refused with an error naming
 * the field, instead of running with a setting it would silently ignore. The variables that stay
 * (diagnostics and install locations, none of which changes a result) are listed in the README,
 * "Environment variables".
 */
import { ConfigError } from './errors/index.js';

interface Retired {
  /** The config field that replaced it, or null when the setting is gone. */
  field: string | null;
  /** The field's value for an old setting of the variable (for the hint). */
  value: (raw: string) => string;
  /** What to do instead, when there is no field. */
  note?: string;
}

/** Every retired variable, with the config field that replaced it. */
export const RETIRED_ENV: Readonly<Record<string, Retired>> = {
  TATS_GRAPH: { field: 'runtime.graph', value: (raw) => String(raw !== '0') },
  TATS_STAGING: { field: 'runtime.staging', value: (raw) => String(raw !== '0') },
  TATS_SDPA: { field: 'runtime.sdpa', value: (raw) => (['flash', 'efficient', 'cudnn', 'math'].includes(raw) ? raw : 'auto') },
  TATS_LN_BF16: { field: 'runtime.layerNormBf16', value: (raw) => String(raw !== '0') },
  TATS_LEGACY_ADAMW: { field: 'runtime.legacyAdamw', value: (raw) => String(raw === '1') },
  TATS_PPO_GRAPH: {
    field: null,
    value: (raw) => raw,
    note: 'unset: the captured PPO update it turned on was removed with TATS revision 2 (docs/tats.md); the PPO update always runs eagerly',
  },
};

/**
 * Throws a ConfigError for the first retired variable set (to anything but the empty string) in
 * `env`, naming the config field to set instead: `--set runtime.graph=false` on the command line,
 * or `"runtime": { "graph": false }` in a --config file.
 */
export function refuseRetiredEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, r] of Object.entries(RETIRED_ENV)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (r.field === null) throw new ConfigError(name, raw, r.note ?? 'unset');
    const [section, key] = r.field.split('.') as [string, string];
    const v = r.value(raw);
    const json = v === 'true' || v === 'false' ? v : JSON.stringify(v);
    throw new ConfigError(
      name,
      raw,
      `unset: this setting is the config field ${r.field} now (--set ${r.field}=${v}, or "${section}": { "${key}": ${json} } in a --config file), recorded in the run's config.json`,
    );
  }
}
