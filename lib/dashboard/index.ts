export { serveDashboard, isLoopback, DASHBOARD_DEFAULTS, type Dashboard, type DashboardOptions } from './server.js';
export { scanRuns, describeRun, type RunSummary, type RunKind, type RunState } from './runs.js';
