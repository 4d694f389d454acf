import type { CommandModule } from 'yargs';

import { BENCH_DEFAULTS, ConfigError, bench, type BenchResult } from '../../lib/index.js';
import { handler } from '../exit.js';
import { nameFlag, optionsFromFlags, trainFlags, type TrainFlags } from '../flags.js';
import { result, say } from '../output.js';

interface BenchArgs extends TrainFlags {
  warmup?: number;
  'skip-peak': boolean;
}

function human(r: BenchResult): string {
  const f = r.flops;
  const gf = (x: number) => `${(x / 1e9).toFixed(1)} GFLOP`;
  return [
    `device        ${r.device} (${r.precision}, torch ${r.torch})`,
    `model         ViT-${r.model} ${r.frames}x${r.size}, ${r.strategy} masking ${r.mask_ratio}, batch ${r.batch_size}`,
    `step          ${r.step_ms.toFixed(1)} ms median of ${r.iters} (min ${r.step_ms_min.toFixed(1)}, max ${r.step_ms_max.toFixed(1)}) after ${r.warmup} warm-up`,
    `throughput    ${r.clips_per_s.toFixed(2)} clips/s`,
    `peak memory   ${r.peak_mem_gib === null ? 'n/a' : `${r.peak_mem_gib.toFixed(2)} GiB`}`,
    `FLOPs/step    ${gf(r.flops_per_step)} = encoder ${gf(f.encoder)} + decoder ${gf(f.decoder)} + sampler ${gf(f.sampler)}`,
    `  inputs      N ${f.inputs.tokens} tokens (${f.inputs.tokenFrames} x ${f.inputs.tokensPerFrame}), visible ${f.inputs.visible}, masked ${f.inputs.masked}, embedded ${f.inputs.embedded}, ` +
      `enc ${f.inputs.encoder.dim}x${f.inputs.encoder.depth}, dec ${f.inputs.decoder.dim}x${f.inputs.decoder.depth}` +
      (f.inputs.sampler ? `, sampler ${f.inputs.sampler.strategy} C=${f.inputs.sampler.dim} K=${f.inputs.sampler.ppoEpochs}` : '') +
      `, backward = ${f.inputs.backwardFactor} x forward` +
      (f.inputs.extraForward ? ', + 1 MAE forward (progress reward)' : ''),
    `model TFLOP/s ${r.model_tflops.toPrecision(3)}`,
    `matmul peak   ${r.matmul_peak ? `${r.matmul_peak.tflops.toPrecision(3)} TFLOP/s (${r.matmul_peak.dtype} ${r.matmul_peak.size}^2 mm)` : 'skipped'}`,
    `MFU           ${r.mfu === null ? 'n/a' : `${(r.mfu * 100).toFixed(1)}%`}`,
    `commit        ${r.commit}`,
  ].join('\n');
}

export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench',
  describe: 'Time training steps on synthetic data: step ms, clips/s, peak memory, model TFLOP/s, MFU',
  builder: (y) =>
    trainFlags(y, { out: false })
      .option('warmup', { type: 'number', group: 'Run:', describe: `Untimed steps first. Default ${BENCH_DEFAULTS.warmup}` })
      .option('skip-peak', { type: 'boolean', default: false, group: 'Run:', describe: 'Do not measure the matmul peak (no MFU)' })
      .example('$0 bench --model base --batch-size 32 --json', 'ViT-B 16x224 TATS steps on the GPU')
      .example('$0 bench --preset cpu-demo --steps 5', 'a quick CPU timing')
      .epilogue(`--steps sets the timed steps (default ${BENCH_DEFAULTS.iters}).`),
  handler: handler<BenchArgs>(async (args) => {
    let options;
    try {
      if (args.epochs !== undefined) throw new ConfigError('--epochs', args.epochs, 'no value: bench counts steps (--steps sets the timed steps)');
      options = optionsFromFlags({ ...args, steps: undefined });
    } catch (err) {
      throw nameFlag(err, args);
    }
    let r: BenchResult;
    try {
      r = await bench(options, {
        warmup: args.warmup,
        iters: args.steps,
        skipPeak: args['skip-peak'],
        onStep: (e) => say({ json: true }, `${e.phase} ${e.index}/${e.of}: ${e.ms.toFixed(1)} ms`),
      });
    } catch (err) {
      if (err instanceof ConfigError && err.field === 'warmup') throw new ConfigError('--warmup', err.value, err.allowed);
      if (err instanceof ConfigError && err.field === 'iters') throw new ConfigError('--steps', err.value, err.allowed);
      throw nameFlag(err, args);
    }
    const { config: _config, ...rest } = r;
    result(args, args.json ? r : rest, () => human(r));
  }),
};
