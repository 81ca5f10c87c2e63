/** Something an owner tag can be put on (an L1 node). */
export interface Owned {
  owners: readonly string[] | undefined;
}

/** The L1's owner tags: which entries carry each tag, so one tag drops its entries without a
 *  scan. A tag carried by one entry (a jti's, usually) maps to that entry itself: no Set is made
 *  for it (measured: a Set per tag was ~10 % of an L1 fill). */
export class OwnerIndex<N extends Owned> {
  private readonly index = new Map<string, N | Set<N>>();

  /** Replaces the tags of `node` (undefined or empty: none). */
  tag(node: N, owners: readonly string[] | undefined): void {
    const index = this.index;
    const old = node.owners;
    if (old !== undefined) {
      for (let i = 0; i < old.length; i++) {
        const owner = old[i] as string;
        const held = index.get(owner);
        if (held === node) index.delete(owner);
        else if (held instanceof Set) {
          held.delete(node);
          if (held.size === 0) index.delete(owner);
        }
      }
    }
    if (owners === undefined || owners.length === 0) {
      node.owners = undefined;
      return;
    }
    node.owners = owners;
    for (let i = 0; i < owners.length; i++) {
      const owner = owners[i] as string;
      const held = index.get(owner);
      if (held === undefined) index.set(owner, node);
      else if (held instanceof Set) held.add(node);
      else if (held !== node) index.set(owner, new Set([held, node]));
    }
  }

  /** Removes `owner` from the index and returns the entries that carried it. */
  take(owner: string): N[] | undefined {
    const held = this.index.get(owner);
    if (held === undefined) return undefined;
    this.index.delete(owner);
    return held instanceof Set ? [...held] : [held];
  }

  clear(): void {
    this.index.clear();
  }
}
