// Requests the pad's hosts make on its behalf: cancelled when the pad stops waiting, failed when the
// connection is lost, answered errors turned into Errors with the server's message.

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
