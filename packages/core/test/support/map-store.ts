import type {
  BusHandlers,
  Fence,
  InvalidationMessage,
  MemberCheck,
  ReadResult,
  Unsubscribe,
} from "../../src/adapter.ts";
import type { BusState, InvalidationBus, Store } from "../../src/index.ts";

/** A minimal Map-backed Store for core's own tests (core may not import an adapter). */
export class MapStore implements Store {
  readonly name = "map";
  readonly values = new Map<string, { v: string; exp: number }>();
  readonly owners = new Map<string, Set<string>>();
  readonly sets = new Map<string, Map<string, number>>();
  /** Calls per method name. */
  readonly calls = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  private count(method: string): void {
    this.calls.set(method, (this.calls.get(method) ?? 0) + 1);
  }

  callCount(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c;
    return n;
  }

  private live(key: string): string | undefined {
    const e = this.values.get(key);
    if (e === undefined) return undefined;
    if (e.exp <= this.now()) {
      this.values.delete(key);
      return undefined;
    }
    return e.v;
  }

  private write(key: string, value: string, expiresAt: number, owners?: string[]): void {
    if (expiresAt <= this.now()) {
      this.values.delete(key);
      return;
    }
    this.values.set(key, { v: value, exp: expiresAt });
    for (const o of owners ?? []) {
      const s = this.owners.get(o) ?? new Set<string>();
      this.owners.set(o, s);
      s.add(key);
    }
  }

  async get(key: string): Promise<string | undefined> {
    this.count("get");
    return this.live(key);
  }
  async getMany(keys: string[]): Promise<(string | undefined)[]> {
    this.count("getMany");
    return keys.map((k) => this.live(k));
  }
  async read(keys: string[], members: MemberCheck[]): Promise<ReadResult> {
    this.count("read");
    return {
      values: keys.map((k) => this.live(k)),
      members: members.map((m) => this.isMember(m.set, m.member)),
    };
  }
  async set(key: string, value: string, expiresAt: number, owners?: string[]): Promise<void> {
    this.count("set");
    this.write(key, value, expiresAt, owners);
  }
  async setIfFence(
    key: string,
    value: string,
    expiresAt: number,
    fence: Fence,
    owners?: string[],
  ): Promise<boolean> {
    this.count("setIfFence");
    if (Number(this.live(fence.key) ?? "0") !== fence.value) return false;
    this.write(key, value, expiresAt, owners);
    return true;
  }
  async deleteMany(keys: string[]): Promise<void> {
    this.count("deleteMany");
    for (const k of keys) this.values.delete(k);
  }
  async deleteOwner(owner: string): Promise<void> {
    this.count("deleteOwner");
    for (const k of this.owners.get(owner) ?? []) this.values.delete(k);
    this.owners.delete(owner);
  }
  async incr(key: string, expiresAt?: number): Promise<number> {
    this.count("incr");
    const n = Number(this.live(key) ?? "0") + 1;
    this.values.set(key, { v: String(n), exp: expiresAt ?? Number.POSITIVE_INFINITY });
    return n;
  }
  async getCounter(key: string): Promise<number> {
    this.count("getCounter");
    return Number(this.live(key) ?? "0");
  }
  private isMember(set: string, member: string): boolean {
    const exp = this.sets.get(set)?.get(member);
    return exp !== undefined && exp > this.now();
  }
  async addMember(set: string, member: string, expiresAt: number): Promise<void> {
    this.count("addMember");
    const s = this.sets.get(set) ?? new Map<string, number>();
    this.sets.set(set, s);
    const current = s.get(member) ?? 0;
    if (expiresAt > current) s.set(member, expiresAt);
    for (const [m, e] of s) if (e <= this.now()) s.delete(m);
  }
  async hasMember(set: string, member: string): Promise<boolean> {
    this.count("hasMember");
    return this.isMember(set, member);
  }
  async countMembers(set: string): Promise<number> {
    this.count("countMembers");
    let n = 0;
    for (const e of this.sets.get(set)?.values() ?? []) if (e > this.now()) n++;
    return n;
  }
  async close(): Promise<void> {}
}

/** Wraps a store; while `hang` is true every call returns a promise that never settles. */
export class HangingStore implements Store {
  readonly name = "hanging";
  hang = false;
  /** Calls that reached this store (made by the cache), hanging or not. */
  calls = 0;

  constructor(private readonly inner: Store) {}

  private run<T>(fn: () => Promise<T>): Promise<T> {
    this.calls++;
    return this.hang ? new Promise<T>(() => {}) : fn();
  }

  get(key: string) {
    return this.run(() => this.inner.get(key));
  }
  getMany(keys: string[]) {
    return this.run(() => this.inner.getMany(keys));
  }
  read(keys: string[], members: MemberCheck[]) {
    return this.run(() => this.inner.read(keys, members));
  }
  set(key: string, value: string, expiresAt: number, owners?: string[]) {
    return this.run(() => this.inner.set(key, value, expiresAt, owners));
  }
  setIfFence(key: string, value: string, expiresAt: number, fence: Fence, owners?: string[]) {
    return this.run(() => this.inner.setIfFence(key, value, expiresAt, fence, owners));
  }
  deleteMany(keys: string[]) {
    return this.run(() => this.inner.deleteMany(keys));
  }
  deleteOwner(owner: string) {
    return this.run(() => this.inner.deleteOwner(owner));
  }
  incr(key: string, expiresAt?: number) {
    return this.run(() => this.inner.incr(key, expiresAt));
  }
  getCounter(key: string) {
    return this.run(() => this.inner.getCounter(key));
  }
  addMember(set: string, member: string, expiresAt: number) {
    return this.run(() => this.inner.addMember(set, member, expiresAt));
  }
  hasMember(set: string, member: string) {
    return this.run(() => this.inner.hasMember(set, member));
  }
  countMembers(set: string) {
    return this.run(() => this.inner.countMembers(set));
  }
  close() {
    return this.inner.close();
  }
}

/**
 * A bus the test drives by hand: `publish` delivers to every follower synchronously (a
 * perfect log); `confirm(at)` calls every follower's caughtUp; `deliver` lets a test hold
 * messages back per follower.
 */
export class ManualBus implements InvalidationBus {
  readonly name = "manual";
  dropped = 0;
  readonly log: InvalidationMessage[] = [];
  readonly followers: { handlers: BusHandlers; held: boolean; queue: InvalidationMessage[] }[] = [];
  private readonly listeners = new Set<(s: BusState) => void>();
  failPublish = false;

  async publish(message: InvalidationMessage): Promise<void> {
    if (this.failPublish) throw new Error("publish refused");
    this.log.push(message);
    for (const f of this.followers) {
      if (f.held) f.queue.push(message);
      else f.handlers.message(message);
    }
  }
  async subscribe(handlers: BusHandlers): Promise<Unsubscribe> {
    const f = { handlers, held: false, queue: [] as InvalidationMessage[] };
    this.followers.push(f);
    return () => {
      const i = this.followers.indexOf(f);
      if (i >= 0) this.followers.splice(i, 1);
    };
  }
  onState(listener: (s: BusState) => void): Unsubscribe {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Every follower that is not held confirms it is caught up at `at`. */
  confirm(at: number): void {
    for (const f of this.followers) if (!f.held) f.handlers.caughtUp(at);
  }
  state(s: BusState): void {
    for (const l of this.listeners) l(s);
  }
  async close(): Promise<void> {
    this.followers.length = 0;
  }
}
