export { Trainer, pretrain, type TrainerEvents, type TrainerState } from './trainer.js';
export type { StepRecord, TrainProgress, PretrainResult, RunHooks, OpenOptions } from './types.js';
export { MetricsWriter, metricsLine, readMetrics } from './metrics.js';
export { DataOrder } from './order.js';
export { runPaths, listCheckpoints, checkpointName, type RunPaths } from './rundir.js';
export { bench, gitCommit, BENCH_DEFAULTS, type BenchResult, type BenchSettings } from './bench.js';
export { trainStepFlops, type FlopCount } from './flops.js';
export { launchPretrain, localRanks, type LaunchOptions } from './launch.js';
export { readDistEnv, distBackend, joinProcessGroup, DEFAULT_DIST_TIMEOUT_S, type DistEnv } from './distributed.js';
