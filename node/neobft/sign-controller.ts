/**
 * Decides which messages the PK sequencer signs. Signing costs far more than hashing, so under
 * load the sequencer signs only as often as its budget (signatures per second, measured at
 * start-up) allows — a token bucket — and the hash chain authenticates the messages in between.
 * It never leaves more than `maxUnsigned` messages in a row unsigned, which bounds how long a
 * receiver may hold unverified messages.
 */
export class SigningController {
  private tokens: number;
  private last: number | null = null;
  private run = 0;
  signed = 0;
  total = 0;

  constructor(private readonly budgetPerSecond: number, private readonly maxUnsigned: number, private readonly burst = 4) {
    this.tokens = burst;
  }

  shouldSign(now: number): boolean {
    if (this.last !== null) this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.budgetPerSecond) / 1e6);
    this.last = now;
    this.total++;
    if (this.tokens >= 1 || this.run >= this.maxUnsigned) {
      this.tokens = Math.max(0, this.tokens - 1);
      this.run = 0;
      this.signed++;
      return true;
    }
    this.run++;
    return false;
  }

  /** Share of messages signed so far. */
  get ratio(): number {
    return this.total === 0 ? 1 : this.signed / this.total;
  }
}
