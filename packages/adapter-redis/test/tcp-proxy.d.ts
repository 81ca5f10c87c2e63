export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  readonly target: { host: string; port: number };
  /** Cuts every connection; new ones are accepted but stay silent until `resume`. */
  pause(): void;
  resume(): void;
  /** Delays every chunk by `ms`, each way (0: none). */
  setDelay(ms: number): void;
  /** Destroys every proxied connection at once (the server sees the sockets die). */
  cut(): void;
  close(): Promise<void>;
}

export function startProxy(target: { host: string; port: number }): Promise<TcpProxy>;
