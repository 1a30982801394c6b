/**
 * The retransmission timer of RFC 6298: SRTT and RTTVAR from Karn-filtered samples,
 * RTO = SRTT + max(G, 4·RTTVAR), doubled on every expiry, clamped to [minUs, maxUs].
 * The bounds are datacenter-scale (see TcpParams): RFC 6298's 1 s floor is meant for the
 * Internet, and Linux already deviates (200 ms).
 */
export interface RtoBounds {
  initialUs: number;
  minUs: number;
  maxUs: number;
}

/** Clock granularity G: the runtime reads clocks in whole microseconds. */
const GRANULARITY_US = 1;

export class RtoEstimator {
  srttUs = 0;
  rttvarUs = 0;
  rtoUs: number;

  constructor(private readonly bounds: RtoBounds) {
    this.rtoUs = bounds.initialUs;
  }

  get measured(): boolean {
    return this.srttUs > 0;
  }

  sample(rttUs: number): void {
    const r = Math.max(rttUs, GRANULARITY_US);
    if (!this.measured) {
      this.srttUs = r;
      this.rttvarUs = r / 2;
    } else {
      this.rttvarUs = 0.75 * this.rttvarUs + 0.25 * Math.abs(this.srttUs - r);
      this.srttUs = 0.875 * this.srttUs + 0.125 * r;
    }
    this.rtoUs = this.clamp(this.srttUs + Math.max(GRANULARITY_US, 4 * this.rttvarUs));
  }

  /** Rule 5.5: back the timer off after it expires. */
  backOff(): void {
    this.rtoUs = this.clamp(this.rtoUs * 2);
  }

  /** Restores a migrated connection's estimate (values as serialized, whole µs). */
  restore(srttUs: number, rttvarUs: number, rtoUs: number): void {
    this.srttUs = srttUs;
    this.rttvarUs = rttvarUs;
    this.rtoUs = rtoUs > 0 ? this.clamp(rtoUs) : this.bounds.initialUs;
  }

  private clamp(us: number): number {
    return Math.min(this.bounds.maxUs, Math.max(this.bounds.minUs, Math.round(us)));
  }
}
