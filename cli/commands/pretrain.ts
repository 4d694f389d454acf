import { mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

import type { CommandModule } from 'yargs';

import { DEFAULTS, ON_DAMAGED_CHOICES, Trainer, badSampleName, launchPretrain, localRanks, type PretrainResult, type TrainProgress } from '../../lib/index.js';
import { DASHBOARD_DEFAULTS, serveDashboard, type Dashboard } from '../../lib/dashboard/index.js';
import { EXIT_FAILURE, handler } from '../exit.js';
import { nameFlag, optionsFromFlags, trainFlags, type TrainFlags } from '../flags.js';
import { result, say } from '../output.js';
import { formatDuration, progressView } from '../progress.js';

interface PretrainArgs extends TrainFlags {
  resume: boolean;
  picture?: boolean;
  progress?: boolean;
  dashboard: boolean;
  'dashboard-port': number;
  'dashboard-host': string;
}

/** The --json object: the run's summary with snake_case keys. */
function summary(r: PretrainResult) {
  return {
    out: r.out,
    step: r.step,
    start_step: r.startStep,
    steps: r.config.steps,
    aborted: r.aborted,
    loss: r.loss,
    clips_per_s: r.clipsPerS,
    elapsed_s: r.elapsedS,
    checkpoint: r.checkpoint,
    metrics: r.metrics,
    picture: r.picture,
    bad_samples: r.badSamples,
    bad_files: r.badFiles,
    bad_samples_log: r.badSamplesLog,
    config: r.config,
  };
}

export const pretrainCommand: CommandModule<object, PretrainArgs> = {
  command: 'pretrain',
  describe: 'MAE pretraining with a masking strategy (TATS by default); writes a run directory',
  builder: (y) =>
    trainFlags(y)
      .option('resume', { type: 'boolean', default: false, group: 'Run:', describe: 'Continue the run in --out from its latest checkpoint (a new run if there is none)' })
      .option('on-damaged', {
        type: 'string',
        group: 'Run:',
        describe: `A damaged shard clip (failing its checksum): stop the run (exit 3, naming the shard file and clip) or skip it (replaced, counted, listed in <out>/bad_samples.jsonl); the config field data.onDamaged: ${ON_DAMAGED_CHOICES.join(', ')}. Default ${DEFAULTS.data.onDamaged}`,
      })
      .option('picture', { type: 'boolean', group: 'Run:', describe: 'Write reconstruction.png at the end (--no-picture to skip). Default true' })
      .option('progress', { type: 'boolean', group: 'Run:', describe: 'Force the progress bar on or off (default: a bar on a terminal, lines otherwise)' })
      .option('dashboard', { type: 'boolean', default: false, group: 'Dashboard:', describe: 'Serve `tats dashboard` for the folder that holds --out from this process; after a finished run it stays up until Ctrl-C' })
      .option('dashboard-port', { type: 'number', default: DASHBOARD_DEFAULTS.port, group: 'Dashboard:', describe: 'Its port (0: any free port)' })
      .option('dashboard-host', { type: 'string', default: DASHBOARD_DEFAULTS.host, group: 'Dashboard:', describe: 'Its address (other than 127.0.0.1 shows the runs to the network: a warning is printed)' })
      .example('$0 pretrain --preset cpu-demo --out runs/quickstart', 'a few minutes on a CPU: tiny ViT on synthetic clips, TATS masking')
      .example('$0 pretrain --preset tats-ucf101 --dataset shards:/data/ucf101 --out runs/ucf', 'the TATS UCF101 recipe on packed shards')
      .example('$0 pretrain --out runs/quickstart --resume', 'continue a stopped run exactly')
      .example('$0 pretrain --preset tats-k400 --dataset shards:/data/k400 --nproc-per-node 8 --batch-size 32 --out runs/k400', '8 GPUs, 32 clips each (global batch 256); docs/distributed.md for torchrun, Slurm and several nodes'),
  handler: handler<PretrainArgs>(async (args) => {
    let options;
    try {
      options = optionsFromFlags(args);
      if (args.picture !== undefined) options.picture = args.picture;
    } catch (err) {
      throw nameFlag(err, args);
    }
    const ac = new AbortController();
    let interrupts = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      interrupts++;
      if (interrupts > 1) process.exit(130);
      process.stderr.write(`\ntats: ${sig}: finishing the current step and writing a checkpoint (again to quit at once)\n`);
      ac.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const view = progressView(process.stderr, args.progress === undefined ? {} : { bar: args.progress });
    let r: PretrainResult;
    let quiet = false;
    let dashboard: Dashboard | undefined;
    const openDashboard = async (out: string) => {
      if (!args.dashboard) return;
      mkdirSync(dirname(out), { recursive: true });
      dashboard = await serveDashboard({ runs: dirname(out), port: args['dashboard-port'], host: args['dashboard-host'] });
      say(args, `tats pretrain: dashboard at ${dashboard.url}#run=${encodeURIComponent(basename(out))}`);
    };
    try {
      const nproc = localRanks(options, { resume: args.resume });
      if (nproc > 1) {
        await openDashboard(resolve(options.out ?? DEFAULTS.out));
        say(args, `tats pretrain: starting ${nproc} local ranks (data parallel; --batch-size is per rank)`);
        r = await launchPretrain(options, { nproc, resume: args.resume, signal: ac.signal, onProgress: (p) => view.update(p) });
      } else {
        const trainer = await Trainer.open(options, { resume: args.resume });
        // Under torchrun/Slurm every rank runs this command; rank 0 speaks for the run.
        quiet = !trainer.writes;
        for (const n of trainer.notices) say(args, `tats pretrain: ${n}`);
        try {
          if (!quiet) await openDashboard(trainer.paths.out);
          const c = trainer.config;
          if (!quiet) {
            say(
              args,
              `tats pretrain: ${c.preset ? `preset ${c.preset}, ` : ''}${c.masking.strategy} masking ${c.masking.ratio}, ` +
                `ViT-${c.model.preset} ${c.model.frames}x${c.model.size}, batch ${c.batchSize}` +
                `${c.worldSize > 1 ? ` per rank x ${c.worldSize} ranks` : ''}, ${c.steps} steps on ${c.device}` +
                `${trainer.startStep > 0 ? `, resuming at step ${trainer.startStep}` : ''} -> ${trainer.paths.out}`,
            );
          }
          r = await trainer.run({ signal: ac.signal, ...(quiet ? {} : { onProgress: (p: TrainProgress) => view.update(p) }) });
        } finally {
          await trainer.dispose();
        }
      }
    } catch (err) {
      view.done();
      await dashboard?.close();
      throw nameFlag(err, args);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    view.done();
    if (quiet) {
      if (r.aborted) process.exitCode = EXIT_FAILURE;
      return;
    }
    result(args, summary(r), () =>
      [
        `${r.aborted ? 'stopped' : 'done'}: step ${r.step}/${r.config.steps}` +
          (r.loss !== null ? `, loss ${r.loss.toFixed(4)}` : '') +
          `, ${r.clipsPerS.toFixed(1)} clips/s over ${formatDuration(r.elapsedS)} on ${r.config.device}`,
        `run        ${r.out}`,
        `checkpoint ${r.checkpoint ?? '(none)'}`,
        `metrics    ${r.metrics}`,
        ...(r.picture ? [`picture    ${r.picture}`] : []),
        ...(r.badSamples > 0
          ? [
              `bad        ${r.badSamples} sample(s) failed to load and were replaced by others (each listed in ${r.badSamplesLog ?? 'bad_samples.jsonl'}):`,
              ...r.badFiles.map((b) => `           ${badSampleName(b)}: ${b.reason}`),
            ]
          : []),
        ...(r.aborted ? [`continue with: tats pretrain --out ${r.out} --resume`] : []),
      ].join('\n'),
    );
    if (r.aborted) {
      say(args, `tats: the run was stopped at step ${r.step} of ${r.config.steps}`);
      process.exitCode = EXIT_FAILURE;
    }
    // A finished run's dashboard stays up to be looked at; Ctrl-C during training stops both.
    if (dashboard && !r.aborted) {
      say(args, `tats pretrain: the dashboard stays up at ${dashboard.url} (Ctrl-C to stop)`);
      await new Promise<void>((done) => {
        process.once('SIGINT', () => done());
        process.once('SIGTERM', () => done());
      });
    }
    await dashboard?.close();
  }),
};
