/**
 * When a run stops for numbers that went bad: a non-finite MAE loss, or a sampler whose own loss,
 * entropy, KL or value loss did (a diverged sampler leaves the MAE's loss finite while its masks
 * turn meaningless).
 */
import { TrainError } from '../errors/index.js';
import type { StepMetrics } from '../session.js';

/** Throws ERR_NONFINITE_LOSS, naming the last checkpoint to resume from, when a step's numbers are not finite. */
export function assertFiniteStep(m: StepMetrics, step: number, lastCheckpoint: string | null): void {
  if (!Number.isFinite(m.loss)) {
    throw new TrainError('ERR_NONFINITE_LOSS', `the loss is ${m.loss} at step ${step}; the last checkpoint is ${lastCheckpoint ?? 'none'} (try a lower --lr)`);
  }
  for (const [name, v] of [['samplerLoss', m.samplerLoss], ['entropy', m.entropy], ['kl', m.kl], ['valueLoss', m.valueLoss]] as const) {
    if (v !== undefined && v !== null && !Number.isFinite(v)) {
      throw new TrainError('ERR_NONFINITE_LOSS', `the sampler's ${name} is ${v} at step ${step}: the sampler diverged; the last checkpoint is ${lastCheckpoint ?? 'none'} (try a lower --set sampler.lr)`);
    }
  }
}
