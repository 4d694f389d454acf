export { ClassifierSession, type ClassifierConfig, type ClassifierStep } from './classifier.js';
export { resolveFinetuneConfig, resolveFlip, ENCODER_PRESETS, type FinetuneOptions, type FinetuneConfig, type ModelPreset } from '../config/finetune.js';
export { saveClassifier, loadClassifier, classifierFormat } from './checkpoint.js';
export { finetune, createClassifier, type FinetuneResult, type FinetuneProgress, type RunControl } from './finetune.js';
export { evaluate, evaluateSession, parseViews, type EvalOptions, type EvalReport } from './evaluate.js';
export { confusionMarkdown, averageViews, type ConfusionReport } from './metrics.js';
export { resolveCheckpoint, encoderWeights, readEncoderWeights } from './weights.js';
export { compare, type CompareOptions, type CompareReport, type CompareRow } from './compare.js';
export { pretrainRun, pretrainSessionConfig, pretrainOptions, PRETRAIN_RUN_SYNTHETIC_CLIPS, type PretrainRunOptions, type PretrainRunResult } from './pretrain.js';
