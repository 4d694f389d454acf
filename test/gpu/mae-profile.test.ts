// ViT-B training steps (the defaults: graphed where possible) for the profiler (TATS_PROFILE=1; with TATS_TRACE=<file.json> the
// native step trace records step 3, see native/core/step_trace.h); skipped otherwise.
import { describe, expect, it } from 'vitest';

import { info } from '../../lib/info.js';
import { Session } from '../../lib/session.js';
import { randomBytes } from '../helpers.js';
import { sessionConfig } from '../session-config.js';

const i = info();
const on = process.env.TATS_PROFILE === '1' && i.flavour === 'cuda' && Boolean(i.cuda);

describe.skipIf(!on)('MAE step for the profiler', () => {
  // TATS_PROFILE_STRATEGY / TATS_PROFILE_RATIO pick the sampler (tube 0.9 by default).
  const strategy = (process.env.TATS_PROFILE_STRATEGY ?? 'tube') as 'tube' | 'tats' | 'adamae';
  const ratio = Number(process.env.TATS_PROFILE_RATIO ?? 0.9);
  it(`training steps, batch 32, 16 x 224, ${strategy} ${ratio}, bf16`, async () => {
    const batchSize = 32, frames = 16, size = 224;
    const cfg = sessionConfig({ preset: 'base', frames, size, batchSize, strategy, ratio, device: 'cuda', precision: 'bf16', warmupSteps: 10, totalSteps: 1000 });
    const session = await Session.create(cfg);
    const clips = randomBytes(batchSize * frames * size * size * 3, 1);
    // TATS_TRACE_STEP (default 3) is traced; two more steps after it.
    const steps = Number(process.env.TATS_TRACE_STEP ?? 3) + 2;
    for (let k = 0; k < steps; k++) expect(Number.isFinite((await session.trainStep(clips)).loss)).toBe(true);
    session.dispose();
  }, 600_000);
});
