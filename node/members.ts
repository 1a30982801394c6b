import type { NodeDocument } from './config.js';
import { capybaraMemberId, capybaraMemberName } from './capybara/topology.js';
import { hydraMemberId, hydraMemberName } from './hydra/topology.js';
import { neoMemberId, neoMemberName } from './neobft/topology.js';
import type { NodeId } from './runtime/core.js';
import type { MemberRuntime } from './runtime/process.js';

/** The id of member `name` in the testbed `doc` describes; throws, naming what exists, when it has none. */
export function memberId(doc: NodeDocument, name: string): NodeId {
  switch (doc.system) {
    case 'hydra':
      return hydraMemberId(name, doc.hydra);
    case 'neobft':
      return neoMemberId(name, { ...doc.neobft, intruder: doc.neobft.faults.intruder });
    case 'capybara':
      return capybaraMemberId(name, doc.capybara);
  }
}

/** The name of member `id` of a testbed of `doc`'s system (throws for an id no member of the system can have). */
export function memberNameOf(doc: NodeDocument): (id: NodeId) => string {
  return { hydra: hydraMemberName, neobft: neoMemberName, capybara: capybaraMemberName }[doc.system];
}

/**
 * Which member a process is, from its `--role` and its host name. ROLE is a member name
 * (`sequencer-2`, `receiver-g0-1`, `config`) or, in a StatefulSet pod `<testbed>-<ROLE>-<ordinal>`,
 * the workload's name (`sequencer`, `receiver-g0`, `config`): the pod's ordinal picks the member,
 * `<ROLE>-<ordinal>` — or, for a workload of one singleton member (`config`, `aggregator`,
 * `switch`), the member named ROLE in pod ordinal 0. Either way the testbed must have that member.
 */
export function resolveMember(role: string, doc: NodeDocument, host: string): { name: string; id: NodeId } {
  const named = (name: string) => ({ name, id: memberId(doc, name) });
  if (/-\d+$/.test(role)) return named(role);
  const pod = host.match(/^(.*)-(\d+)$/);
  if (pod && pod[1] === `${doc.name}-${role}`) {
    const ordinal = `${role}-${pod[2]}`;
    try {
      return named(ordinal);
    } catch (err) {
      if (pod[2] !== '0' || !accepts(doc, role)) throw err;
      return named(role);
    }
  }
  if (accepts(doc, role)) return named(role);
  if (!pod) throw new Error(`--role ${role} needs an ordinal: give a member name like ${role}-0, or run in a StatefulSet pod (hostname ${host} has none)`);
  throw new Error(`hostname ${host} is not a pod of ${doc.name}-${role}; give the member name explicitly`);
}

function accepts(doc: NodeDocument, name: string): boolean {
  try {
    memberId(doc, name);
    return true;
  } catch {
    return false;
  }
}

const MAX_CACHED = 4096;

/**
 * Whether a datagram for `id` has anyone to go to: `id` is the id of a member this testbed has
 * (or may scale to). A core may be told to answer an id taken from a packet (a client id in a
 * request, an address in a segment), so this is the transport's check, not the core's. The
 * first answers are cached; a flood of made-up ids cannot grow the cache past `MAX_CACHED`.
 */
export function membership(doc: NodeDocument): (id: NodeId) => boolean {
  const nameOf = memberNameOf(doc);
  const known = new Map<NodeId, boolean>();
  return (id) => {
    let member = known.get(id);
    if (member === undefined) {
      try {
        member = memberId(doc, nameOf(id)) === id;
      } catch {
        member = false;
      }
      if (known.size < MAX_CACHED) known.set(id, member);
    }
    return member;
  };
}

/** What the runtime needs of the testbed to run one of its members. */
export function memberRuntime(doc: NodeDocument): MemberRuntime {
  return {
    system: doc.system, testbed: doc.name, seed: doc.seed, logLevel: doc.logLevel,
    addressing: doc.addressing, metrics: doc.metrics, network: doc.network,
    nameOf: memberNameOf(doc), isMember: membership(doc),
  };
}
