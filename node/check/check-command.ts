import { performance } from 'node:perf_hooks';
import { type ModelName, modelOf, readHistory } from './history-file.js';
import { checkLinearizable, verdict } from './linearizability.js';

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
  const v = verdict(r);
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ file: path, model, verdict: v, linearizable: r.linearizable, operations: r.operations, partitions: r.partitions,
      largest_partition: r.largestPartition, steps: r.steps, seconds, counterexample: r.counterexample ?? [] })}\n`);
  } else {
    const lines = [
      `history         ${path} (model ${model})`,
      `operations      ${r.operations} in ${r.partitions} independent partition(s), the largest ${r.largestPartition}`,
      `search          ${r.steps} steps, ${seconds.toFixed(2)} s`,
      `linearizable    ${{ linearizable: 'yes', violation: 'NO', incomplete: 'UNKNOWN: the search ran out of steps (--max-steps)' }[v]}`,
      ...(r.counterexample ?? []).map((c) => `  ${c}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return { linearizable: 0, violation: 1, incomplete: 3 }[v];
}
