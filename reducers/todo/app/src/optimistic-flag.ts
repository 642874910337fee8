// A checkbox over an asynchronous store: React puts a controlled checkbox back to its value right
// after the click, and the document's rows come a moment later (after the mutation's own answer), so
// the box would flicker, and a test reading it at once would see no change. The wanted value is shown
// from the click until the document's value changes, or until a short grace after the mutation settled
// without changing it (refused, or a concurrent change undid it).
import { useCallback, useEffect, useState } from 'react';

const GRACE_MS = 500;

export function useOptimisticFlag(
  actual: boolean,
): readonly [shown: boolean, want: (value: boolean, settled: Promise<unknown>) => void] {
  const [wanted, setWanted] = useState<{ readonly value: boolean } | undefined>(undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a change of the document's value ends the wait
  useEffect(() => setWanted(undefined), [actual]);
  const want = useCallback((value: boolean, settled: Promise<unknown>) => {
    const token = { value };
    setWanted(token);
    const done = () =>
      setTimeout(() => setWanted((current) => (current === token ? undefined : current)), GRACE_MS);
    settled.then(done, done);
  }, []);
  return [wanted?.value ?? actual, want];
}
