/**
 * A set whose members each expire at their own deadline (the revoked jtis). Expired members
 * are dropped when looked up and swept incrementally, so memory follows the live members.
 */
export class ExpiringSet {
  private readonly map = new Map<string, number>();
  private cursor: Iterator<[string, number]> | undefined;

  /** Members held, including expired ones not yet swept. */
  get size(): number {
    return this.map.size;
  }

  /** Returns true if `member` is live at `now`. */
  has(member: string, now: number): boolean {
    const deadline = this.map.get(member);
    if (deadline === undefined) return false;
    if (deadline > now) return true;
    this.map.delete(member);
    return false;
  }

  /** The deadline of `member`, or undefined when it is not held. */
  deadline(member: string): number | undefined {
    return this.map.get(member);
  }

  /** Adds `member` until `expiresAt`; a later deadline wins, an earlier one never shortens it. */
  add(member: string, expiresAt: number, now: number): void {
    if (!(expiresAt > now)) return;
    const current = this.map.get(member);
    if (current === undefined || current < expiresAt) this.map.set(member, expiresAt);
    this.sweep(now, 2);
  }

  /** Counts live members (a full pass: for stats, not the hot path). */
  countLive(now: number): number {
    let n = 0;
    for (const deadline of this.map.values()) if (deadline > now) n++;
    return n;
  }

  /** Examines up to `budget` members and drops the expired ones. Returns how many it dropped. */
  sweep(now: number, budget: number): number {
    let removed = 0;
    let wrapped = false;
    for (let i = 0; i < budget; i++) {
      if (this.cursor === undefined) this.cursor = this.map.entries();
      const step = this.cursor.next();
      if (step.done) {
        this.cursor = undefined;
        if (wrapped || this.map.size === 0) break;
        wrapped = true;
        i--;
        continue;
      }
      const [member, deadline] = step.value;
      if (deadline <= now) {
        this.map.delete(member);
        removed++;
      }
    }
    return removed;
  }
}
