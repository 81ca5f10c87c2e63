import { redisKeyspace } from "@authcache/redis-protocol";
import {
  type BaseClientConfiguration,
  GlideClient,
  GlideClusterClient,
} from "@valkey/valkey-glide";

/** Either kind of glide client; the adapter detects which one it was given. */
export type ValkeyClient = GlideClient | GlideClusterClient;

/** A server address, as glide takes it. */
export interface ValkeyAddress {
  readonly host: string;
  /** Default 6379. */
  readonly port?: number;
}

/** Further glide settings for clients the adapter opens itself (credentials, useTLS,
 *  requestTimeout, inflightRequestsLimit, connectionBackoff, advancedConfiguration, ...). */
export type ValkeyClientConfig = Omit<BaseClientConfiguration, "addresses"> & {
  readonly advancedConfiguration?: { connectionTimeout?: number };
};

/** How an adapter gets its client: given (and never closed), or opened from addresses (and
 *  closed by the adapter's `close()`). */
export interface ValkeyConnectionOptions {
  /** An existing client, used as is and never closed by the adapter. */
  readonly client?: ValkeyClient;
  /** Seed addresses: the adapter opens its own client and closes it on `close()`. */
  readonly addresses?: readonly ValkeyAddress[];
  /** With `addresses`: open a GlideClusterClient (true) or a standalone GlideClient (false,
   *  the default). */
  readonly cluster?: boolean;
  /** Glide configuration for the clients the adapter opens. */
  readonly clientConfig?: ValkeyClientConfig;
}

export const PKG = "@authcache/adapter-valkey";

/** Whether `client` talks to a cluster (so multi-key work must be grouped per slot). */
export function isCluster(client: ValkeyClient): boolean {
  return client instanceof GlideClusterClient;
}

/**
 * The keyspace (core's `Store.keyspace`, `InvalidationBus.keyspace`) of the standalone client
 * the adapter opens from one seed address: that server and database (`databaseId`), the same
 * string the Redis adapter computes for the same server. Undefined when it cannot be promised
 * that a store and a bus declaring it reach the same keys: a cluster (keys in several slots),
 * several seed addresses (glide picks the primary among them), reads from replicas (`readFrom`
 * other than "primary"), or a given client (its address and database are glide's private
 * state). Undefined only costs the ordered publish, never correctness.
 */
export function keyspaceOf(options: ValkeyConnectionOptions): string | undefined {
  if (options.client || options.cluster === true) return undefined;
  const addresses = options.addresses;
  if (addresses?.length !== 1) return undefined;
  const config = options.clientConfig;
  if (config?.readFrom !== undefined && config.readFrom !== "primary") return undefined;
  const db = config?.databaseId ?? 0;
  const { host, port = 6379 } = (addresses as readonly ValkeyAddress[])[0] as ValkeyAddress;
  return redisKeyspace(host, port, db);
}

export function openClient(
  addresses: readonly ValkeyAddress[],
  cluster: boolean,
  config: ValkeyClientConfig | undefined,
): Promise<ValkeyClient> {
  const full = {
    ...config,
    addresses: addresses.map((a) => ({ host: a.host, port: a.port ?? 6379 })),
  };
  return cluster ? GlideClusterClient.createClient(full) : GlideClient.createClient(full);
}

/**
 * One client, given or opened. An opened client is created eagerly, but a failed creation
 * (server down at start-up) does not make the factory throw: the next call tries again after
 * `retryMs`, so an application can start while its Valkey is unreachable and the cache's
 * failure policy treats the calls in between as errors.
 */
export class ClientHandle {
  readonly #open: (() => Promise<ValkeyClient>) | undefined;
  readonly #retryMs: number;
  #client: ValkeyClient | undefined;
  #pending: Promise<ValkeyClient> | undefined;
  #failedAt = 0;
  #failure: unknown;
  #closed = false;
  readonly owned: boolean;

  constructor(options: ValkeyConnectionOptions, what: string, retryMs = 500) {
    this.#retryMs = retryMs;
    if (options.client) {
      this.#client = options.client;
      this.#open = undefined;
      this.owned = false;
    } else if (options.addresses && options.addresses.length > 0) {
      const { addresses, cluster = false, clientConfig } = options;
      this.#open = () => openClient(addresses, cluster, clientConfig);
      this.owned = true;
    } else {
      throw new TypeError(
        `${PKG}: ${what} needs either \`client\` (an existing GlideClient or GlideClusterClient) or \`addresses\``,
      );
    }
  }

  /** The client if it is ready now (the hot path avoids an await). */
  get ready(): ValkeyClient | undefined {
    return this.#closed ? undefined : this.#client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Returns the client, opening it first if needed. Rejects once closed. */
  get(): Promise<ValkeyClient> {
    if (this.#closed) return Promise.reject(new Error(`${PKG}: used after close()`));
    if (this.#client) return Promise.resolve(this.#client);
    if (this.#pending) return this.#pending;
    if (this.#failure !== undefined && Date.now() - this.#failedAt < this.#retryMs)
      return Promise.reject(this.#failure);
    const open = this.#open as () => Promise<ValkeyClient>;
    const pending = open().then(
      (client) => {
        this.#pending = undefined;
        this.#failure = undefined;
        if (this.#closed) {
          client.close();
          throw new Error(`${PKG}: closed while connecting`);
        }
        this.#client = client;
        return client;
      },
      (err: unknown) => {
        this.#pending = undefined;
        this.#failedAt = Date.now();
        this.#failure = new Error(`${PKG}: could not connect`, { cause: err });
        throw this.#failure;
      },
    );
    this.#pending = pending;
    return pending;
  }

  /** Starts opening the client without waiting (a failure is retried by the next `get`). */
  warm(): void {
    if (this.#open && !this.#client) this.get().catch(() => {});
  }

  /** Closes the client if this handle opened it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pending = this.#pending;
    if (pending) await pending.catch(() => {});
    if (this.owned && this.#client) this.#client.close();
    this.#client = undefined;
  }
}
