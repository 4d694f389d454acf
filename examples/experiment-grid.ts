// A small experiment grid from TypeScript: every masking strategy at two mask ratios, the same
// budget and seed, one run directory each; prints a table and writes grid.json.
//
//   npm run build:ts && node dist/examples/experiment-grid.js --steps 30 --out runs/grid
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { ConfigError, pretrain, readMetrics, type PretrainOptions, type Strategy } from 'tats';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '30' },
    out: { type: 'string', default: 'runs/grid' },
    strategies: { type: 'string', default: 'random,tube,tats' },
    ratios: { type: 'string', default: '0.75,0.9' },
  },
});

const strategies = args.strategies.split(',') as Strategy[];
const ratios = args.ratios.split(',').map(Number);
mkdirSync(args.out, { recursive: true });

const rows: { strategy: Strategy; ratio: number; loss: number | null; lastLogged: number | null; clipsPerS: number; out: string }[] = [];
for (const strategy of strategies) {
  for (const ratio of ratios) {
    const options: PretrainOptions = {
      preset: 'cpu-demo',
      steps: Number(args.steps),
      masking: { strategy, ratio },
      logEvery: 5,
      picture: false,
      out: join(args.out, `${strategy}-${ratio}`),
    };
    try {
      const r = await pretrain(options);
      const metrics = readMetrics(r.metrics);
      rows.push({
        strategy,
        ratio,
        loss: r.loss,
        lastLogged: (metrics.at(-1)?.loss as number | undefined) ?? null,
        clipsPerS: r.clipsPerS,
        out: r.out,
      });
      console.log(`${strategy.padEnd(7)} ratio ${ratio}: loss ${r.loss?.toFixed(4)} (${r.clipsPerS.toFixed(1)} clips/s)`);
    } catch (err) {
      // An invalid combination (e.g. a ratio that does not fit the token grid) is reported and skipped.
      if (err instanceof ConfigError) console.log(`${strategy.padEnd(7)} ratio ${ratio}: skipped: ${err.message}`);
      else throw err;
    }
  }
}
writeFileSync(join(args.out, 'grid.json'), JSON.stringify(rows, null, 2) + '\n');
console.table(rows.map(({ strategy, ratio, loss, clipsPerS }) => ({ strategy, ratio, loss: loss?.toFixed(4), 'clips/s': clipsPerS.toFixed(1) })));
