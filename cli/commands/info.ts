import type { CommandModule } from 'yargs';

import { info } from '../../lib/index.js';
import { handler } from '../exit.js';
import { result } from '../output.js';

interface InfoArgs {
  json: boolean;
}

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info',
  describe: 'Versions and hardware: tats, libtorch, CUDA, devices, the native binary loaded',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'Print one JSON object' }),
  handler: handler<InfoArgs>((args) => {
    const i = info();
    result(args, i, () =>
      [
        `tats ${i.version}`,
        `libtorch  ${i.torch} (${i.torchSource})`,
        `flavour   ${i.flavour}${i.cudaArchitectures ? ` (sm ${i.cudaArchitectures})` : ''}`,
        `cuda      ${i.cuda ? 'available' : 'not available'}`,
        `device    ${i.device}${i.capability ? ` (compute ${i.capability})` : ''}`,
        ...i.devices.slice(1).map((d) => `          ${d.name} (compute ${d.capability})`),
        `cpu       ${i.cpuThreads} libtorch threads`,
        `dist      ${i.distributed.length ? i.distributed.join(', ') : 'none'} (data-parallel backends)`,
        `binary    ${i.binary}`,
        `loaded    ${i.load.kind}${i.load.variant ? ` ${i.load.variant}` : ''}${i.load.libtorch ? ` with libtorch ${i.load.libtorch.version ?? '?'} (${i.load.libtorch.source}: ${i.load.libtorch.dir})` : ''}`,
        `why       ${i.load.why}`,
        `node      ${i.node} ${i.platform}`,
      ].join('\n'),
    );
  }),
};
