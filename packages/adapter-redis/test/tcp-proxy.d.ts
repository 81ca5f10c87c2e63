export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  readonly target: { host: string; port: number };
  /** Cuts every connection; new ones are accepted but stay silent until `resume`. */
  pause(): void;
  resume(): void;
  /** Destroys every proxied connection at once (the server sees the sockets die). */
  cut(): void;
  close(): Promise<void>;
}

export function startProxy(target: { host: string; port: number }): Promise<TcpProxy>;
