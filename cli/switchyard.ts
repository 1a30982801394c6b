#!/usr/bin/env node
import { parseArgs } from 'node:util';

const USAGE = `usage:
  switchyard up FILE [--duration SECONDS] [--json]
      Runs the custom resource in FILE as local processes on loopback.
  switchyard node --config FILE --role ROLE
      Runs one member of a testbed (what each pod runs).
  switchyard bench hydra [--json] [--out DIR] [--seconds N]
      Measures (not a test); prints a table, writes DIR/hydra.json and DIR/hydra.md.`;

function fail(message: string): never {
  process.stderr.write(`switchyard: ${message}\n\n${USAGE}\n`);
  process.exit(2);
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true, strict: true,
        options: { duration: { type: 'string' }, json: { type: 'boolean', default: false } },
      });
      if (positionals.length !== 1) fail('up takes exactly one FILE');
      let durationSeconds: number | undefined;
      if (values.duration !== undefined) {
        durationSeconds = Number(values.duration);
        if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) fail(`--duration must be a positive number of seconds, not "${values.duration}"`);
      }
      const { up } = await import('../operator/local/runner.js');
      const { exitCode, result } = await up({ file: positionals[0]!, durationSeconds, out: values.json ? process.stderr : process.stdout });
      if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      return exitCode;
    }
    case 'node': {
      const { values } = parseArgs({
        args: rest, strict: true, options: { config: { type: 'string' }, role: { type: 'string' } },
      });
      if (!values.config) fail('node needs --config FILE');
      if (!values.role) fail('node needs --role ROLE');
      const { nodeMain } = await import('../node/main.js');
      await nodeMain(values.config, values.role);
      return -1;
    }
    case 'bench': {
      const { values, positionals } = parseArgs({
        args: rest, allowPositionals: true, strict: true,
        options: { json: { type: 'boolean', default: false }, out: { type: 'string' }, seconds: { type: 'string' } },
      });
      const { bench } = await import('../bench/bench.js');
      return bench(positionals, { json: values.json!, out: values.out, seconds: values.seconds === undefined ? undefined : Number(values.seconds) });
    }
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      fail(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // A node keeps running (code -1) until it is signalled.
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const e = err as { code?: string; message?: string };
    if (e.code?.startsWith('ERR_PARSE_ARGS')) fail(e.message ?? String(err));
    process.stderr.write(`switchyard: ${e.message ?? String(err)}\n`);
    process.exit(1);
  },
);
