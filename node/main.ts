import { hostname } from 'node:os';
import { type NodeDocument, loadNodeDocument } from './config.js';
import { startHydraMember } from './hydra/member.js';
import { startNeoMember } from './neobft/member.js';
import { startCapybaraMember } from './capybara/member.js';

/**
 * `switchyard node --config FILE --role ROLE`: runs one member of a testbed. ROLE is a member
 * name (`sequencer-2`, `receiver-g0-1`, …) or, in a StatefulSet pod, a role prefix
 * (`sequencer`, `receiver-g0`) completed by the pod's ordinal from its hostname.
 */
export async function nodeMain(config: string, role: string): Promise<void> {
  watchParent();
  const doc = loadNodeDocument(config);
  const name = memberName(role, doc);
  switch (doc.system) {
    case 'hydra':
      return startHydraMember(doc, name);
    case 'neobft':
      return startNeoMember(doc, name);
    case 'capybara':
      return startCapybaraMember(doc, name);
  }
}

/** Started by `switchyard up`: exit with the runner, even if it was killed without cleaning up. */
function watchParent(): void {
  const parent = Number(process.env.SWITCHYARD_PARENT_PID);
  if (!parent) return;
  setInterval(() => {
    if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM');
  }, 1000).unref();
}

function memberName(role: string, doc: NodeDocument): string {
  const testbed = doc.name;
  if (/-\d+$/.test(role) || role === 'config' || role === 'aggregator' || role === 'switch' || role === 'sequencer' && doc.system === 'neobft') return role;
  const host = process.env.HOSTNAME ?? hostname();
  const m = host.match(/-(\d+)$/);
  if (!m) throw new Error(`--role ${role} needs an ordinal: give a member name like ${role}-0, or run in a StatefulSet pod (hostname ${host} has none)`);
  if (!host.startsWith(`${testbed}-${role}-`)) {
    throw new Error(`hostname ${host} is not a pod of ${testbed}-${role}; give the member name explicitly`);
  }
  return `${role}-${m[1]}`;
}
