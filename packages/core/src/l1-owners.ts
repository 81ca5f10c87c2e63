/** Something an owner tag can be put on (an L1 node). */
export interface Owned {
  owners: readonly string[] | undefined;
}

/** The L1's owner tags: which entries carry each tag, so one tag drops its entries without a
 *  scan. */
export class OwnerIndex<N extends Owned> {
  private readonly index = new Map<string, Set<N>>();

  /** Replaces the tags of `node` (undefined or empty: none). */
  tag(node: N, owners: readonly string[] | undefined): void {
    if (node.owners !== undefined) {
      for (const owner of node.owners) {
        const set = this.index.get(owner);
        if (set === undefined) continue;
        set.delete(node);
        if (set.size === 0) this.index.delete(owner);
      }
    }
    node.owners = owners !== undefined && owners.length > 0 ? owners : undefined;
    if (node.owners === undefined) return;
    for (const owner of node.owners) {
      let set = this.index.get(owner);
      if (set === undefined) {
        set = new Set();
        this.index.set(owner, set);
      }
      set.add(node);
    }
  }

  /** Removes `owner` from the index and returns the entries that carried it. */
  take(owner: string): Set<N> | undefined {
    const nodes = this.index.get(owner);
    this.index.delete(owner);
    return nodes;
  }

  clear(): void {
    this.index.clear();
  }
}
