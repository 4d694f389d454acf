/**
 * The options of `tats dashboard` (serveDashboard), resolved over `DASHBOARD_DEFAULTS` and checked
 * with the predicates of lib/check.ts, so a bad value throws the same ConfigError as every other
 * config.
 */
import { existingFolder, integer, nonEmptyString, number } from '../check.js';
import { DASHBOARD_DEFAULTS } from './defaults.js';

/** The settings of the dashboard server (lib/dashboard's DashboardOptions documents each). */
export interface DashboardChoices {
  runs?: string;
  port?: number;
  host?: string;
  pollMs?: number;
}

export interface DashboardConfig {
  runs: string;
  port: number;
  host: string;
  pollMs: number;
}

/** The dashboard's settings over DASHBOARD_DEFAULTS, every field checked. */
export function resolveDashboardConfig(o: DashboardChoices): DashboardConfig {
  const D = DASHBOARD_DEFAULTS;
  return {
    runs: existingFolder('runs', o.runs ?? D.runs, 'an existing folder of run directories'),
    port: integer('port', o.port ?? D.port, 0, 65535),
    host: nonEmptyString('host', o.host ?? D.host),
    pollMs: number('pollMs', o.pollMs ?? D.pollMs, 20),
  };
}
