import type { PlannedMember } from '../plan/types.js';
import { MemberProcess } from './members.js';

/**
 * Restart back-off, as a kubelet's for a pod's containers (Kubernetes docs, "Pod Lifecycle",
 * container restart policy: 10 s doubling up to 5 min, reset after 10 min of running), scaled
 * down to processes on loopback.
 */
export const BACKOFF = { firstMs: 500, capMs: 8000, resetAfterMs: 30_000 };

/** A member's incarnation that died on its own, whose state (a client's history) went with it. */
export interface LostIncarnation {
  member: string;
  /** When it was started (ms since the epoch): none of its operations is older. */
  startedAt: number;
}

interface Slot {
  member: PlannedMember;
  proc: MemberProcess;
  restarts: number;
  delayMs: number;
  /** Stopped on purpose (end of run, member removed by a live edit): never restarted. */
  stopped: boolean;
  timer: NodeJS.Timeout | null;
}

export interface SupervisorOptions {
  /** Today's `--fail-fast`: a dying member (other than an expendable one) fails the run instead of restarting. */
  failFast: boolean;
  spawn: (member: PlannedMember, onExit: (p: MemberProcess) => void) => MemberProcess;
  out: NodeJS.WritableStream;
  /** A member died and is not restarted: the run fails with this reason. */
  fail: (reason: string) => void;
}

/**
 * Runs the members of a local testbed as a kubelet runs pods: a member process that dies is
 * started again with the same command and configuration and an empty state, after a back-off
 * that doubles up to a cap; restarts are counted per member.
 */
export class Supervisor {
  private readonly slots = new Map<string, Slot>();
  /** Incarnations that died on their own, in order. */
  readonly lost: LostIncarnation[] = [];

  constructor(private readonly o: SupervisorOptions) {}

  /** Starts `member` (again, if it was stopped). */
  launch(member: PlannedMember): MemberProcess {
    const slot: Slot = { member, proc: null as unknown as MemberProcess, restarts: this.slots.get(member.name)?.restarts ?? 0, delayMs: BACKOFF.firstMs, stopped: false, timer: null };
    slot.proc = this.o.spawn(member, (p) => this.died(slot, p));
    this.slots.set(member.name, slot);
    return slot.proc;
  }

  /** The current incarnation of every member, in start order. */
  processes(): MemberProcess[] {
    return [...this.slots.values()].map((s) => s.proc);
  }

  get(name: string): MemberProcess | undefined {
    return this.slots.get(name)?.proc;
  }

  /** Whether `name` runs or is about to be restarted. */
  wants(name: string): boolean {
    const slot = this.slots.get(name);
    return slot !== undefined && !slot.stopped && (slot.proc.running || slot.timer !== null);
  }

  /** Members that should be running (a dead one waiting for its restart counts). */
  wanted(): number {
    return [...this.slots.values()].filter((s) => !s.stopped).length;
  }

  /** Restarts per member that restarted at all. */
  restarts(): Record<string, number> {
    return Object.fromEntries([...this.slots].filter(([, s]) => s.restarts > 0).map(([name, s]) => [name, s.restarts]));
  }

  async stop(name: string): Promise<void> {
    const slot = this.slots.get(name);
    if (!slot) return;
    slot.stopped = true;
    if (slot.timer) clearTimeout(slot.timer);
    await slot.proc.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.slots.keys()].map((name) => this.stop(name)));
  }

  /**
   * Waits until `name` answers `/readyz` (whichever incarnation), or `timeoutMs` passes, or it
   * died and will not be restarted.
   */
  async ready(name: string, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const slot = this.slots.get(name)!;
      const p = slot.proc;
      if (await p.ready(deadline - Date.now())) return true;
      if (Date.now() >= deadline || slot.stopped || this.o.failFast) return false;
      // Died before it was ready: wait for the next incarnation.
      while (this.slots.get(name)!.proc === p && !slot.stopped && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    }
  }

  private died(slot: Slot, p: MemberProcess): void {
    if (slot.stopped || p.stopping || slot.proc !== p) return;
    const name = slot.member.name;
    const how = p.exited!.signal ? `killed by ${p.exited!.signal}` : `exited with code ${p.exited!.code}`;
    this.lost.push({ member: name, startedAt: p.startedAt });
    if (!this.o.failFast) {
      if (Date.now() - p.startedAt >= BACKOFF.resetAfterMs) slot.delayMs = BACKOFF.firstMs;
      const delay = slot.delayMs;
      slot.delayMs = Math.min(BACKOFF.capMs, delay * 2);
      // One that exits on its own says why (its termination message, as a crash-looping pod's).
      const why = p.exited!.signal ? '' : `; its last log lines:\n${p.tail.slice(-5).map((l) => `  ${l}`).join('\n')}`;
      this.o.out.write(`\nswitchyard: ${name} ${how}; restarting it in ${(delay / 1000).toFixed(1)}s (restart ${slot.restarts + 1})${why}\n`);
      slot.timer = setTimeout(() => {
        slot.timer = null;
        if (slot.stopped) return;
        slot.restarts++;
        slot.proc = this.o.spawn(slot.member, (q) => this.died(slot, q));
      }, delay);
      return;
    }
    if (slot.member.expendable && (p.exited!.signal || p.exited!.code === 0)) {
      this.o.out.write(`\nswitchyard: ${name} ${how}; the protocol reconfigures around it\n`);
      return;
    }
    this.o.out.write(`\nswitchyard: ${name} ${how} unexpectedly; its last log lines:\n${p.tail.map((l) => `  ${l}`).join('\n')}\n`);
    this.o.fail(`${name} ${how}`);
  }
}
