import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { NodeDocument } from '../config.js';
import { memberId, memberRuntime } from '../members.js';
import { newRegistry } from '../runtime/metrics.js';
import { type MemberIdentity, type MemberRuntime, memberLogger } from '../runtime/process.js';

/** What every member process starts with, whatever its system: who it is, its metrics registry, runtime configuration and logger. */
export interface MemberBasics {
  me: MemberIdentity;
  registry: Registry;
  runtime: MemberRuntime;
  logger: Logger;
}

/** The basics of member `name` (its role is the name without its ordinal: `receiver-g0-1` → `receiver`). */
export function memberBasics(doc: NodeDocument, name: string): MemberBasics {
  const role = name.replace(/-.*$/, '');
  const me: MemberIdentity = { id: memberId(doc, name), name, role };
  const runtime = memberRuntime(doc);
  return { me, registry: newRegistry({ testbed: doc.name, member: name, role }), runtime, logger: memberLogger(runtime, me) };
}
