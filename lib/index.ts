/**
 * tats: video masked-autoencoder pretraining with a trajectory-aware, PPO-trained token sampler.
 * @packageDocumentation
 */
export { info, type TatsInfo } from './info.js';
export * from './errors/index.js';
export { packageVersion as version } from './paths.js';
export * from './config/index.js';
export * from './train/index.js';
export { Session, type SessionConfig, type StepMetrics, type EvalMetrics, type Reconstruction, type StateDict } from './session.js';
export { saveCheckpoint, loadCheckpoint, readCheckpointMeta, type CheckpointMeta } from './checkpoint/checkpoint.js';
export { readSafetensors, writeSafetensors } from './checkpoint/safetensors.js';
export * from './data/index.js';
export * from './eval/index.js';
export * from './viz/index.js';
export { serveDashboard, scanRuns, describeRun, DASHBOARD_DEFAULTS, type Dashboard, type DashboardOptions, type RunSummary, type RunKind, type RunState } from './dashboard/index.js';
