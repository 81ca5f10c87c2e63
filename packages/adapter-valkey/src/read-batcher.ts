/**
 * Auto-pipelining for `Store.read`. At low load each read goes out alone at once; when
 * `maxConcurrent` pipelines are already in flight, new reads wait and leave together in the
 * next pipeline (up to `maxCommands` commands). This keeps the queue in JavaScript, where it
 * costs no timeout, rather than inside glide, where every queued request runs against
 * `requestTimeout`: with 100 000 reads sent at once, 1 000 single-read pipelines in flight on
 * a 3-node cluster spend longer than 250 ms queued inside the client and time out.
 */
export interface ReadRequest {
  /** Number of commands this read adds to a pipeline. */
  readonly size: number;
  /** Its replies are `replies[at]` to `replies[at + size - 1]` (none of them an Error). */
  resolve(replies: readonly unknown[], at: number): void;
  reject(err: unknown): void;
}

export class ReadBatcher<R extends ReadRequest> {
  readonly #send: (batch: R[]) => Promise<unknown[]>;
  readonly #maxConcurrent: number;
  readonly #maxCommands: number;
  #pending: R[] = [];
  #head = 0;
  #inFlight = 0;

  constructor(
    send: (batch: R[]) => Promise<unknown[]>,
    options: { maxConcurrent: number; maxCommands: number },
  ) {
    this.#send = send;
    this.#maxConcurrent = options.maxConcurrent;
    this.#maxCommands = options.maxCommands;
  }

  /** Reads waiting for a pipeline. */
  get queued(): number {
    return this.#pending.length - this.#head;
  }

  /** Pipelines in flight. */
  get inFlight(): number {
    return this.#inFlight;
  }

  add(request: R): void {
    this.#pending.push(request);
    this.#pump();
  }

  #pump(): void {
    while (this.#inFlight < this.#maxConcurrent && this.#head < this.#pending.length) {
      const batch: R[] = [];
      let commands = 0;
      while (this.#head < this.#pending.length) {
        const next = this.#pending[this.#head] as R;
        if (batch.length > 0 && commands + next.size > this.#maxCommands) break;
        batch.push(next);
        commands += next.size;
        this.#head++;
      }
      if (this.#head === this.#pending.length) {
        this.#pending = [];
        this.#head = 0;
      } else if (this.#head > 4096 && this.#head * 2 > this.#pending.length) {
        this.#pending = this.#pending.slice(this.#head);
        this.#head = 0;
      }
      this.#inFlight++;
      this.#send(batch).then(
        (replies) => {
          this.#inFlight--;
          let at = 0;
          for (const r of batch) {
            let failed: unknown;
            for (let i = at; i < at + r.size; i++) {
              if (replies[i] instanceof Error) {
                failed = replies[i];
                break;
              }
            }
            if (failed !== undefined) r.reject(failed);
            else r.resolve(replies, at);
            at += r.size;
          }
          this.#pump();
        },
        (err: unknown) => {
          this.#inFlight--;
          for (const r of batch) r.reject(err);
          this.#pump();
        },
      );
    }
  }
}
