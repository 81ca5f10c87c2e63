/**
 * Listens with whatever runtime runs us: Bun.serve, Deno.serve, or @hono/node-server on Node.
 */

type FetchHandler = (request: Request) => Response | Promise<Response>;

export interface Listening {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly hostname: string;
  close(): Promise<void>;
}

interface DenoLike {
  serve(
    options: { port: number; hostname: string; onListen?: (addr: { port: number }) => void },
    handler: FetchHandler,
  ): { finished: Promise<void>; shutdown(): Promise<void>; addr: { port: number } };
}

export async function listen(
  fetch: FetchHandler,
  port: number,
  hostname: string,
): Promise<Listening> {
  const g = globalThis as { Bun?: unknown; Deno?: DenoLike };
  if (g.Bun !== undefined) {
    // MCP SSE streams stay open between keep-alives (every 15 s): Bun's default idle timeout
    // (10 s) would cut them.
    const server = Bun.serve({ fetch, port, hostname, idleTimeout: 60 });
    return {
      port: server.port ?? port,
      hostname,
      close: async () => {
        await server.stop(true);
      },
    };
  }
  if (g.Deno !== undefined) {
    const server = g.Deno.serve({ port, hostname, onListen: () => {} }, fetch);
    return { port: server.addr.port, hostname, close: () => server.shutdown() };
  }
  const { serve } = await import("@hono/node-server");
  return new Promise((resolve) => {
    const server = serve({ fetch, port, hostname }, (info) => {
      resolve({
        port: info.port,
        hostname,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
          }),
      });
    });
  });
}
