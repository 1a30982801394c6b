import { readFileSync, writeFileSync } from 'node:fs';
import { kvModel } from './kv-model.js';
import type { Model, Operation } from './linearizability.js';
import { txnModel } from './txn-model.js';

/** The sequential models a recorded history can be checked against, by name. */
export const MODELS = { kv: kvModel, txn: txnModel } as const;
export type ModelName = keyof typeof MODELS;

/**
 * A recorded client history as `switchyard up` writes it next to the members' logs, and as
 * `switchyard check` reads it: the model's name and every operation, an operation that never
 * returned having `ret: null` (JSON has no Infinity).
 */
interface HistoryFile {
  model: ModelName;
  operations: (Omit<Operation<unknown, unknown>, 'ret'> & { ret: number | null })[];
}

export function writeHistory(path: string, model: ModelName, ops: Operation<unknown, unknown>[]): void {
  const file: HistoryFile = { model, operations: ops.map((o) => ({ ...o, ret: Number.isFinite(o.ret) ? o.ret : null })) };
  writeFileSync(path, JSON.stringify(file));
}

/** Reads a history file, naming what is wrong with it (the checker trusts its input's shape). */
export function readHistory(path: string): { model: ModelName; ops: Operation<unknown, unknown>[] } {
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
  const f = file as Partial<HistoryFile>;
  if (typeof f !== 'object' || f === null || !Array.isArray(f.operations)) throw new Error(`${path}: expected {"model": …, "operations": [...]}`);
  if (!(typeof f.model === 'string' && f.model in MODELS)) throw new Error(`${path}: "model" must be one of ${Object.keys(MODELS).join(', ')}, not ${JSON.stringify(f.model)}`);
  const ops = f.operations.map((o, i) => {
    const bad = (what: string) => new Error(`${path}: operations[${i}]: ${what}`);
    if (typeof o !== 'object' || o === null) throw bad('not an object');
    if (!Number.isInteger(o.client)) throw bad('"client" must be an integer');
    if (typeof o.call !== 'number' || !Number.isFinite(o.call)) throw bad('"call" must be a number');
    if (o.ret !== null && (typeof o.ret !== 'number' || o.ret < o.call)) throw bad('"ret" must be null (never returned) or a number ≥ "call"');
    if (typeof o.input !== 'object' || o.input === null) throw bad('"input" must be an object');
    return { ...o, ret: o.ret ?? Infinity, output: o.ret === null ? undefined : o.output };
  });
  return { model: f.model as ModelName, ops };
}

export const modelOf = (name: ModelName) => MODELS[name] as Model<unknown, unknown, unknown>;
