import { unwatchFile, watchFile } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { plan as planResource } from '../plan/plan.js';
import { withoutLive } from '../plan/live.js';
import type { Plan } from '../plan/types.js';
import { loadResourceFile } from '../schema/resources.js';
import type { Supervisor } from './supervisor.js';

/**
 * Live edits of a running testbed's file: scalable fields go through the protocol (the plan's
 * `reconfigure` command), others are refused. Edits apply one at a time, in order; `desired` is
 * the plan of the latest edit taken, so a member an edit starts is never stopped as unwanted by
 * an earlier edit's sweep. Members no longer wanted leave through the protocol first, then their
 * processes stop.
 */
export class LiveEdits {
  /** The plan the testbed runs: the last edit the protocol accepted. */
  current: Plan;
  private desired: Plan;
  private chain = Promise.resolve();

  constructor(private readonly file: string, plan: Plan, private readonly members: Supervisor, private readonly out: NodeJS.WritableStream,
    private readonly readyTimeoutMs: number) {
    this.current = this.desired = plan;
  }

  watch(): void {
    watchFile(this.file, { interval: 500 }, () => {
      this.chain = this.chain.then(() => this.apply()).catch((err) => {
        this.out.write(`\nswitchyard: ${(err as Error).message}\n`);
      });
    });
  }

  unwatch(): void {
    unwatchFile(this.file);
  }

  private sweepUnwanted(): void {
    setTimeout(() => {
      const wanted = new Set(this.desired.members.map((m) => m.name));
      for (const p of this.members.processes()) if (!wanted.has(p.member.name)) void this.members.stop(p.member.name);
    }, 2000);
  }

  /** Posts the command to every member that runs; returns why each that did not take it refused. */
  private async tell(names: string[], body: string): Promise<string[]> {
    const said = await Promise.all(names.map(async (name) => {
      const member = this.members.get(name);
      if (!member?.running) return `${name} is not running`;
      try {
        const res = await fetch(`${member.metricsUrl}/admin`, { method: 'POST', body });
        return res.ok ? null : `${name}: ${await res.text()}`;
      } catch (err) {
        return `${name}: ${(err as Error).message}`;
      }
    }));
    return said.filter((s): s is string => s !== null);
  }

  private async apply(): Promise<void> {
    const next = planResource(loadResourceFile(this.file));
    const current = this.current;
    if (!isDeepStrictEqual(withoutLive(next.document, next.liveFields), withoutLive(current.document, current.liveFields))) {
      this.out.write(`\nswitchyard: only ${next.liveFields.join(', ')} can change on a running testbed; other edits need a restart\n`);
      return;
    }
    this.desired = next;
    for (const m of next.members) if (!this.members.wants(m.name)) {
      // An incarnation a sweep is stopping must free its ports first.
      await this.members.get(m.name)?.stop();
      this.members.launch(m);
      await this.members.ready(m.name, this.readyTimeoutMs);
    }
    if (!next.reconfigure) return;
    const refusals = await this.tell(next.reconfigure.members, JSON.stringify(next.reconfigure.command));
    if (refusals.length === next.reconfigure.members.length) {
      this.desired = this.current;
      this.sweepUnwanted();
      throw new Error(`reconfiguration refused: ${refusals.join('; ')}`);
    }
    this.out.write(`\nswitchyard: applied ${JSON.stringify(next.reconfigure.command)}\n`);
    this.current = next;
    this.sweepUnwanted();
  }
}
