import type { Resources } from './resources';

/**
 * A status refresh asked for on every reading, shown at most every `everyMs`: under load the
 * counters move on every batch and a status message per reading would flood the editor.
 */
export function gatheredStatus(
  res: Resources,
  show: () => void,
  onError: (err: unknown) => void,
  everyMs = 250,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  return () => {
    if (timer || res.isDisposed) return;
    timer = res.timeout(
      everyMs,
      () => {
        timer = undefined;
        show();
      },
      onError,
    );
  };
}
