import { performance } from 'node:perf_hooks';
import { type ModelName, modelOf, readHistory } from './history-file.js';
import { checkLinearizable } from './linearizability.js';

/**
 * `switchyard check HISTORY`: runs the linearizability checker on a recorded history and
 * prints what it found. Exit code 0 linearizable, 1 a violation (where the longest legal order
 * stops, and the operations open there), 3 unknown (the search ran out of steps: raise --max-steps), 2 a bad file.
 */
export function checkHistoryFile(path: string, opts: { model?: ModelName; maxSteps?: number; json: boolean }): number {
  let history;
  try {
    history = readHistory(path);
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 2;
  }
  const model = opts.model ?? history.model;
  const started = performance.now();
  const r = checkLinearizable(modelOf(model), history.ops, opts.maxSteps);
  const seconds = (performance.now() - started) / 1000;
  const verdict = r.linearizable ? 'linearizable' : r.complete ? 'violation' : 'incomplete';
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ file: path, model, verdict, linearizable: r.linearizable, operations: r.operations, partitions: r.partitions,
      largest_partition: r.largestPartition, steps: r.steps, seconds, counterexample: r.counterexample ?? [] })}\n`);
  } else {
    const lines = [
      `history         ${path} (model ${model})`,
      `operations      ${r.operations} in ${r.partitions} independent partition(s), the largest ${r.largestPartition}`,
      `search          ${r.steps} steps, ${seconds.toFixed(2)} s`,
      `linearizable    ${r.linearizable ? 'yes' : r.complete ? 'NO' : 'UNKNOWN: the search ran out of steps (--max-steps)'}`,
      ...(r.counterexample ?? []).map((c) => `  ${c}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return r.linearizable ? 0 : r.complete ? 1 : 3;
}
