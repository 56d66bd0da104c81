// Requests the pad's hosts make on its behalf: cancelled when the pad stops waiting, failed when the
// connection is lost or no answer comes in time, answered errors turned into Errors with the server's message.

/** The error a request rejects with once its signal aborted (the pad recognizes `name === "AbortError"`). */
export function abortError(): DOMException {
  return new DOMException("The request was superseded", "AbortError");
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

/** An Error for whatever a request rejected with: a JSON-RPC error object `{code, message}` keeps its message. */
export function asError(reason: unknown): Error {
  if (reason instanceof Error) return reason;
  if (typeof reason === "object" && reason !== null && typeof (reason as { message?: unknown }).message === "string") {
    return new Error((reason as { message: string }).message);
  }
  return new Error(String(reason));
}

/**
 * `answer` until `signal` aborts (then `cancel` runs, e.g. `$/cancelRequest`, and the promise rejects with an
 * AbortError) or `lost` rejects (the connection went away before the answer came).
 */
export function abortable<T>(
  answer: Promise<T>,
  options: { signal?: AbortSignal; cancel?: () => void; lost?: Promise<never> },
): Promise<T> {
  const { signal, cancel, lost } = options;
  if (signal?.aborted) {
    cancel?.();
    return Promise.reject(abortError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      cancel?.();
      reject(abortError());
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal?.removeEventListener("abort", onAbort);
    answer.then(
      (value) => {
        settle();
        resolve(value);
      },
      (reason: unknown) => {
        settle();
        reject(asError(reason));
      },
    );
    lost?.catch((reason: unknown) => {
      settle();
      reject(asError(reason));
    });
  });
}

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
}

export interface StartOptions {
  /** Aborting it rejects the request with an AbortError and calls `cancel`. */
  signal?: AbortSignal;
  /** Tell the other side the answer is no longer wanted (`$/cancelRequest`, a cancel message). */
  cancel?(id: number): void;
  /** Reject with this message when no answer came within `timeoutMs`. */
  timeoutMs?: number;
  timeoutMessage?: string;
}

/** Requests awaiting their answers by id: one id sequence, abort and timeout handling in one place. */
export class PendingRequests<T> {
  private readonly pending = new Map<number, Pending<T>>();
  private nextId = 1;

  /** Send a request with a fresh id (`send(id)`); the promise settles with its answer. */
  start(send: (id: number) => void, options: StartOptions = {}): Promise<T> {
    const { signal, cancel, timeoutMs, timeoutMessage } = options;
    if (signal?.aborted) return Promise.reject(abortError());
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(id);
        signal?.removeEventListener("abort", onAbort);
      };
      const onAbort = () => {
        finish();
        cancel?.(id);
        reject(abortError());
      };
      this.pending.set(id, {
        resolve(value) {
          finish();
          resolve(value);
        },
        reject(error) {
          finish();
          reject(error);
        },
      });
      signal?.addEventListener("abort", onAbort, { once: true });
      if (timeoutMs !== undefined) {
        const message = timeoutMessage ?? `no answer within ${timeoutMs} ms`;
        timer = setTimeout(() => this.reject(id, new Error(message)), timeoutMs);
      }
      try {
        send(id);
      } catch (error) {
        // Not sent (e.g. no connection): nothing will answer, fail now rather than at the timeout.
        this.reject(id, asError(error));
      }
    });
  }

  /** Settle request `id` with its answer; false when nobody waits for it (cancelled, timed out, unknown). */
  resolve(id: number, value: T): boolean {
    const entry = this.pending.get(id);
    entry?.resolve(value);
    return entry !== undefined;
  }

  reject(id: number, error: Error): boolean {
    const entry = this.pending.get(id);
    entry?.reject(error);
    return entry !== undefined;
  }

  /** Fail every request still waiting, e.g. when the connection is lost. */
  rejectAll(error: Error): void {
    for (const entry of [...this.pending.values()]) entry.reject(error);
  }
}
