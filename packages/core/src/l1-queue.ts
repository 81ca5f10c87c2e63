/** The nodes of the L1 and the LRU queues of its segments (see L1Cache). */

export const WINDOW = 0;
export const PROBATION = 1;
export const PROTECTED = 2;
/** Set on removal, so a node reached through a stale reference is never unlinked twice. */
export const DETACHED = 3;
export type Segment = typeof WINDOW | typeof PROBATION | typeof PROTECTED | typeof DETACHED;

/**
 * An entry as {@link L1Cache.getEntry} returns it: the value, and `memo`, a slot the caller may
 * fill with something derived from the value (a resolved promise of it, say). The cache clears
 * `memo` whenever the value is replaced.
 */
export interface L1Entry<V> {
  readonly value: V;
  memo: unknown;
}

export interface Node<V> extends L1Entry<V> {
  /** The flat key, or the second part of a pair. */
  readonly key: string;
  /** The first part of a pair ("" for a flat key). */
  readonly group: string;
  /** The pair space, or FLAT. */
  readonly space: number;
  value: V;
  memo: unknown;
  expiresAt: number;
  readonly hash: number;
  segment: Segment;
  /** `protectedTick` when the node last went to the head of the protected segment. */
  stamp: number;
  prev: Node<V> | undefined;
  next: Node<V> | undefined;
  owners: readonly string[] | undefined;
  /** The node's index in the cache's dense list of nodes. */
  slot: number;
}

/** A doubly linked list ordered from most (head) to least (tail) recently used. */
export class Queue<V> {
  head: Node<V> | undefined;
  tail: Node<V> | undefined;
  length = 0;

  pushHead(node: Node<V>): void {
    node.prev = undefined;
    node.next = this.head;
    if (this.head) this.head.prev = node;
    else this.tail = node;
    this.head = node;
    this.length++;
  }

  remove(node: Node<V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    node.prev = undefined;
    node.next = undefined;
    this.length--;
  }

  moveToHead(node: Node<V>): void {
    if (this.head === node) return;
    this.remove(node);
    this.pushHead(node);
  }

  clear(): void {
    this.head = undefined;
    this.tail = undefined;
    this.length = 0;
  }
}

/** A node not yet linked into a queue (it enters the window). */
export function newNode<V>(
  key: string,
  group: string,
  space: number,
  value: V,
  expiresAt: number,
  hash: number,
): Node<V> {
  return {
    key,
    group,
    space,
    value,
    memo: undefined,
    expiresAt,
    hash,
    segment: WINDOW,
    stamp: 0,
    prev: undefined,
    next: undefined,
    owners: undefined,
    slot: -1,
  };
}
