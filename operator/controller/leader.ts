import { type CoordinationV1Api, V1MicroTime } from '@kubernetes/client-node';
import type { Logger } from 'pino';

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

const status = (err: unknown) => (err as { code?: number }).code;

/**
 * Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: the
 * holder renews every retry period; another candidate takes the lease only after it has gone
 * unrenewed for a whole lease duration; updates use the lease's resourceVersion, so two
 * candidates can never both win. A leader that cannot renew within the deadline steps down.
 */
export class LeaderElector {
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly api: CoordinationV1Api,
    private readonly o: LeaderOptions,
    private readonly log: Logger,
    private readonly onStart: () => void,
    private readonly onStop: () => void,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  /** Gives the lease up (on graceful shutdown) so a standby takes over at once. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      lease.spec.holderIdentity = undefined;
      lease.spec.leaseDurationSeconds = 1;
      await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      this.log.info('released the leader lease');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not release the leader lease');
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    let held = false;
    try {
      held = await this.tryAcquireOrRenew(now);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'leader election request failed');
    }
    if (held) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.log.info({ identity: this.o.identity }, 'became the leader');
        this.onStart();
      }
    } else if (this.leading && Date.now() - this.lastRenew > this.o.renewDeadlineMs) {
      this.leading = false;
      this.log.error('lost the leader lease');
      this.onStop();
      return;
    }
    this.timer = setTimeout(() => void this.tick(), this.o.retryPeriodMs);
  }

  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    const { name, namespace, identity } = this.o;
    const seconds = Math.max(1, Math.round(this.o.leaseDurationMs / 1000));
    let lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (status(err) !== 404) throw err;
      await this.api.createNamespacedLease({
        namespace,
        body: {
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: new V1MicroTime(now),
            renewTime: new V1MicroTime(now), leaseTransitions: 0,
          },
        },
      }).catch((e) => {
        if (status(e) === 409) return null;
        throw e;
      });
      return (await this.api.readNamespacedLease({ name, namespace })).spec?.holderIdentity === identity;
    }
    const spec = lease.spec ?? {};
    const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
    const expired = !spec.holderIdentity || renewed + (spec.leaseDurationSeconds ?? seconds) * 1000 < now;
    if (spec.holderIdentity !== identity && !expired) return false;
    const takingOver = spec.holderIdentity !== identity;
    lease.spec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: seconds,
      renewTime: new V1MicroTime(now),
      acquireTime: takingOver ? new V1MicroTime(now) : spec.acquireTime,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
    };
    try {
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (status(err) === 409) return false; // someone else updated it first
      throw err;
    }
  }
}
