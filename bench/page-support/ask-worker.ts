// What the bench pages share: one request to a floor worker, answered by its next message. A `failed`
// answer (its `message` says why), or an error in the worker, rejects.

/** Sends `message` to `worker` and resolves with its next answer (one request in flight at a time). */
export function askWorker<From extends { readonly type: string }>(
  worker: Worker,
  message: unknown,
): Promise<From> {
  return new Promise((resolve, reject) => {
    worker.onmessage = ({ data }: MessageEvent<From>) =>
      data.type === 'failed' ? reject(new Error((data as { message?: string }).message)) : resolve(data);
    worker.onerror = (event) => reject(new Error(`floor worker: ${event.message}`));
    worker.postMessage(message);
  });
}
