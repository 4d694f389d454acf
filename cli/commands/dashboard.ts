import type { CommandModule } from 'yargs';

import { DASHBOARD_DEFAULTS, serveDashboard } from '../../lib/dashboard/index.js';
import { handler } from '../exit.js';
import { nameFlag } from '../flags.js';
import { result, say } from '../output.js';

interface DashboardArgs {
  runs: string;
  port: number;
  host: string;
  json: boolean;
}

export const dashboardCommand: CommandModule<object, DashboardArgs> = {
  command: 'dashboard',
  describe: 'A local web page of the runs under --runs: live curves, pictures, comparisons, evaluations',
  builder: (y) =>
    y
      .option('runs', { type: 'string', default: DASHBOARD_DEFAULTS.runs, describe: 'Folder of run directories (pretrain, finetune, compare reports), searched a few levels deep' })
      .option('port', { type: 'number', default: DASHBOARD_DEFAULTS.port, describe: 'TCP port (0: any free port)' })
      .option('host', {
        type: 'string',
        default: DASHBOARD_DEFAULTS.host,
        describe: 'Address to bind. The default keeps the page to this machine; any other address shows the runs to the network without authentication (a warning is printed)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print {url, host, port, runs} as JSON once listening (human output goes to stderr)' })
      .example('$0 dashboard', 'the runs under ./runs at http://127.0.0.1:8421/')
      .example('$0 dashboard --runs docs/compare --port 0', 'a compare report, on any free port'),
  handler: handler<DashboardArgs>(async (args) => {
    const ac = new AbortController();
    const d = await serveDashboard({ runs: args.runs, port: args.port, host: args.host, signal: ac.signal }).catch((err: unknown) => {
      throw nameFlag(err, args, { runs: 'runs', port: 'port', host: 'host' });
    });
    result(args, { url: d.url, host: d.host, port: d.port, runs: d.root }, () => `tats dashboard: ${d.url} (runs in ${d.root}; Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        say(args, 'tats dashboard: stopped');
        ac.abort();
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await d.close();
  }),
};
