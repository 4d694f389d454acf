#!/usr/bin/env node
// The tats command line: registers commands; each handler maps arguments to lib/ calls.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

import { benchCommand } from './commands/bench.js';
import { compareCommand } from './commands/compare.js';
import { dashboardCommand } from './commands/dashboard.js';
import { evalCommand } from './commands/eval.js';
import { finetuneCommand } from './commands/finetune.js';
import { infoCommand } from './commands/info.js';
import { packCommand } from './commands/pack.js';
import { pretrainCommand } from './commands/pretrain.js';
import { visualizeCommand } from './commands/visualize.js';
import { EXIT_USAGE } from './exit.js';
import { exitWithParent } from './orphan.js';

exitWithParent();

await yargs(hideBin(process.argv))
  .scriptName('tats')
  .usage('$0 <command> [options]\n\nVideo MAE pretraining with a trajectory-aware, PPO-trained token sampler.')
  .command(pretrainCommand)
  .command(finetuneCommand)
  .command(evalCommand)
  .command(packCommand)
  .command(benchCommand)
  .command(visualizeCommand)
  .command(compareCommand)
  .command(dashboardCommand)
  .command(infoCommand)
  .demandCommand(1, 'name a command (see --help)')
  .strict()
  .recommendCommands()
  .help()
  .alias('h', 'help')
  .version()
  .wrap(Math.min(120, process.stdout.columns || 100))
  .fail((msg, err) => {
    if (err) throw err;
    process.stderr.write(`tats: ${msg}\nRun 'tats --help' for usage.\n`);
    process.exit(EXIT_USAGE);
  })
  .parseAsync();
