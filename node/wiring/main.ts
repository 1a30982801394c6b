import { hostname } from 'node:os';
import { loadNodeDocument } from '../config.js';
import { startHydraMember } from './hydra.js';
import { startNeoMember } from './bft.js';
import { startCapybaraMember } from './capybara.js';
import { resolveMember } from '../members.js';

/**
 * `switchyard node --config FILE --role ROLE`: runs one member of a testbed. ROLE is a member
 * name (`sequencer-2`, `receiver-g0-1`, …) or, in a StatefulSet pod, the workload's name
 * (`sequencer`, `receiver-g0`) completed by the pod's ordinal from its hostname (resolveMember).
 */
export async function nodeMain(config: string, role: string): Promise<void> {
  watchParent();
  const doc = loadNodeDocument(config);
  const { name } = resolveMember(role, doc, process.env.HOSTNAME ?? hostname());
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
