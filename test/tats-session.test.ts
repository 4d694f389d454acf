// The learned samplers inside the native Session (CPU): the joint step reports the sampler's
// telemetry, masks have the fixed count, reconstruct exposes the policy, and a checkpoint
// (sampler.*, sampler_optim.*) resumes the sampler exactly.
import { describe, expect, it } from 'vitest';

import { SyntheticMotionDataset } from '../lib/data/synthetic.js';
import { Session, type SessionConfig, type StepMetrics } from '../lib/session.js';
import { sessionConfig } from './session-config.js';

const B = 2, T = 8, SIZE = 32, PATCH = 8, N = (T / 2) * (SIZE / PATCH) ** 2;
const ds = new SyntheticMotionDataset({ seed: 4, frames: T, size: SIZE, patch: PATCH, length: 1000 });
const batch = (i: number) => ds.batch([2 * i, 2 * i + 1]);

function config(strategy: 'tats' | 'adamae', ratio = 0.75): SessionConfig {
  const c = sessionConfig({ preset: 'tiny', frames: T, size: SIZE, batchSize: B, strategy, ratio, seed: 5, lr: 1e-3, totalSteps: 20 });
  c.model.patch = PATCH;
  c.model.encoderDepth = 2;
  c.model.decoderDepth = 1;
  c.sampler = { ...c.sampler, dim: 32, heads: 2, lr: 1e-3 };
  return c;
}

async function steps(s: Session, from: number, to: number): Promise<StepMetrics[]> {
  const out: StepMetrics[] = [];
  for (let i = from; i < to; i++) {
    const b = batch(i);
    out.push(await s.trainStep(b.clips, b.motion));
  }
  return out;
}

describe.each(['tats', 'adamae'] as const)('strategy %s in the Session', (strategy) => {
  const telemetry =
    strategy === 'tats'
      ? ['kl', 'entropy', 'clipFrac', 'valueLoss', 'reward', 'beta', 'ppoEpochs', 'samplerLoss']
      : ['entropy', 'reward', 'samplerLoss'];

  it('reports the sampler telemetry and the motion shares each step', async () => {
    const s = await Session.create(config(strategy));
    try {
      const ms = await steps(s, 0, 3);
      for (const m of ms) {
        for (const k of [...telemetry, 'maskedMovingShare', 'movingShare', 'loss']) {
          expect(Number.isFinite((m as unknown as Record<string, number>)[k]), `${k} in ${JSON.stringify(m)}`).toBe(true);
        }
        expect(m.entropy!).toBeGreaterThan(0);
        // tats: Bernoulli entropy per token (<= log 2); adamae: the softmax's over N tokens.
        expect(m.entropy!).toBeLessThanOrEqual((strategy === 'tats' ? Math.log(2) : Math.log(N)) + 1e-4);
        expect(m.maskedMovingShare!).toBeGreaterThanOrEqual(0);
        expect(m.maskedMovingShare!).toBeLessThanOrEqual(1);
        expect(m.reward!).toBeGreaterThan(0);
      }
      console.log(strategy, JSON.stringify(ms.at(-1)));
    } finally {
      s.dispose();
    }
  });

  it('reconstruct: round(rho*N) masked tokens per clip and the policy as probabilities', async () => {
    for (const ratio of [0.5, 0.75, 0.9]) {
      const s = await Session.create(config(strategy, ratio));
      try {
        const r = await s.reconstruct(batch(0).clips);
        expect(r.tokens).toBe(N);
        expect(r.maskedPerClip).toBe(Math.round(ratio * N));
        for (let b = 0; b < B; b++) {
          let masked = 0, mass = 0;
          for (let i = 0; i < N; i++) {
            masked += r.mask[b * N + i]!;
            mass += r.policy![b * N + i]!;
          }
          expect(masked).toBe(Math.round(ratio * N));
          // tats: per-token masking probabilities summing to the masked count; adamae: a softmax.
          expect(mass).toBeCloseTo(strategy === 'tats' ? Math.round(ratio * N) : 1, 3);
        }
      } finally {
        s.dispose();
      }
    }
  });

  it('stateDict -> loadStateDict (strict) resumes the sampler exactly', async () => {
    const straight = await Session.create(config(strategy));
    const want = await steps(straight, 0, 4);
    straight.dispose();

    const first = await Session.create(config(strategy));
    await steps(first, 0, 2);
    const state = await first.stateDict();
    first.dispose();
    const names = Object.keys(state);
    expect(names.some((n) => n.startsWith('sampler.'))).toBe(true);
    expect(names.some((n) => n.startsWith('sampler_optim.'))).toBe(true);

    const second = await Session.create(config(strategy));
    await second.loadStateDict(state, { strict: true });
    const got = await steps(second, 2, 4);
    second.dispose();
    for (let i = 0; i < 2; i++) {
      for (const k of ['loss', ...telemetry, 'maskedMovingShare']) {
        const key = k as keyof StepMetrics;
        expect(got[i]![key], `${k} at step ${i + 3}`).toBe(want[i + 2]![key]);
      }
    }
  });
});

describe('sampler.reward: what the TATS sampler is rewarded with on the masked tokens', () => {
  const withReward = (reward: 'error' | 'negError' | 'progress') => {
    const c = config('tats', 0.9);
    c.sampler = { ...c.sampler, reward };
    return c;
  };

  it("error's reward is the step's masked error, negError's its negative", async () => {
    for (const [reward, sign] of [['error', 1], ['negError', -1]] as const) {
      const s = await Session.create(withReward(reward));
      try {
        for (const m of await steps(s, 0, 3)) expect(m.reward! * sign, `${reward}: ${JSON.stringify(m)}`).toBeCloseTo(m.loss, 5);
      } finally {
        s.dispose();
      }
    }
  });

  it("progress's reward is the drop of the masked error over the MAE's own update (one more forward)", async () => {
    const s = await Session.create(withReward('progress'));
    try {
      const ms = await steps(s, 0, 6);
      for (const m of ms) {
        expect(Number.isFinite(m.reward!)).toBe(true);
        expect(Math.abs(m.reward!)).toBeLessThan(m.loss); // a drop, not the error itself
      }
      // An AdamW step on a batch lowers that batch's error: the mean drop is positive (it would be
      // exactly 0 if the errors after were read before the update).
      const mean = ms.reduce((a, m) => a + m.reward!, 0) / ms.length;
      expect(mean).toBeGreaterThan(0);
    } finally {
      s.dispose();
    }
  });

  it('runtime.rolloutGraph false (the first PPO epoch runs its own forward) trains exactly like true', async () => {
    const run = async (rolloutGraph: boolean) => {
      const c = config('tats', 0.9);
      c.runtime = { ...c.runtime, rolloutGraph };
      const s = await Session.create(c);
      try {
        return await steps(s, 0, 4);
      } finally {
        s.dispose();
      }
    };
    const kept = await run(true), recomputed = await run(false);
    // The same theta and state: the recomputed forward gives the same values, so the same updates.
    kept.forEach((m, k) => {
      for (const key of ['loss', 'kl', 'samplerLoss', 'entropy', 'maskedMovingShare'] as const) {
        expect(recomputed[k]![key], `step ${k} ${key}`).toBeCloseTo(m[key]!, 6);
      }
    });
    expect(kept.at(-1)!.kl).toBeGreaterThan(0); // the policy moved, so the comparison can fail
  });

  it('sampler.exactKl changes only the reported kl: the whole update\'s, or the last epoch\'s before its step', async () => {
    const run = async (exactKl: boolean, ppoEpochs: number) => {
      const c = config('tats', 0.9);
      c.sampler = { ...c.sampler, exactKl, ppoEpochs };
      const s = await Session.create(c);
      try {
        return await steps(s, 0, 3);
      } finally {
        s.dispose();
      }
    };
    const exact = await run(true, 1), last = await run(false, 1);
    exact.forEach((m, k) => {
      for (const key of ['loss', 'samplerLoss', 'entropy', 'valueLoss', 'maskedMovingShare'] as const) {
        expect(last[k]![key], `step ${k} ${key}`).toBe(m[key]);
      }
      expect(m.kl, `step ${k}: one step moved the policy`).toBeGreaterThan(0);
      expect(last[k]!.kl, `step ${k}: the one epoch measured theta_old`).toBe(0);
    });
    // Two epochs: the last one's forward has taken one step, the update two.
    const exact2 = await run(true, 2), last2 = await run(false, 2);
    exact2.forEach((m, k) => {
      expect(last2[k]!.loss, `step ${k} loss`).toBe(m.loss);
      expect(last2[k]!.kl).toBeGreaterThan(0);
      expect(last2[k]!.kl).toBeLessThan(m.kl!);
    });
  });

  it('the native layer refuses an unknown reward with the field named', async () => {
    const c = config('tats') as unknown as { sampler: Record<string, unknown> };
    c.sampler.reward = 'loss';
    await expect(Session.create(c as unknown as SessionConfig)).rejects.toThrow(/config\.sampler\.reward must be 'error', 'negError' or 'progress', received 'loss'/);
  });
});
