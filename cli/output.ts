/** How commands print: human text on stdout, or with --json one JSON object on stdout and the rest on stderr. */
export interface OutputOptions {
  json: boolean;
}

/** Human-facing progress and notes: stderr under --json, stdout otherwise. */
export function say(opts: OutputOptions, line: string): void {
  (opts.json ? process.stderr : process.stdout).write(line + '\n');
}

/** The command's result: one JSON object under --json, else the human rendering. */
export function result(opts: OutputOptions, value: unknown, human: () => string): void {
  if (opts.json) process.stdout.write(JSON.stringify(value) + '\n');
  else process.stdout.write(human() + '\n');
}
