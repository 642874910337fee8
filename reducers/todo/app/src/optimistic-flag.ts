// A checkbox over an asynchronous store: React puts a controlled checkbox back to its value right
// after the click, and the document answers a moment later, so the box would flicker (and a test
// reading it at once would see no change). The wanted value is shown from the click until the
// document's value changes or the mutation settles, whichever comes first.
import { useCallback, useEffect, useState } from 'react';

export function useOptimisticFlag(
  actual: boolean,
): readonly [shown: boolean, want: (value: boolean, settled: Promise<unknown>) => void] {
  const [wanted, setWanted] = useState<{ readonly value: boolean } | undefined>(undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a change of the document's value ends the wait
  useEffect(() => setWanted(undefined), [actual]);
  const want = useCallback((value: boolean, settled: Promise<unknown>) => {
    const token = { value };
    setWanted(token);
    const done = () => setWanted((current) => (current === token ? undefined : current));
    settled.then(done, done);
  }, []);
  return [wanted?.value ?? actual, want];
}
