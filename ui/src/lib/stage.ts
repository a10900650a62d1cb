// Trying the demo and throwing it away both swap the database the window works on: the window
// takes the new first-run state and starts over at the call screen.
import { attempt } from './attempt';
import type { BackendError } from './backend';
import type { FirstRun } from './generated/FirstRun';
import { router } from './router.svelte';

/** Runs `swap`; on success hands its state to `onstage` and opens the call screen, else `fail`. */
export async function swapDatabase(
  swap: () => Promise<FirstRun>,
  onstage: (state: FirstRun) => void,
  fail: (failure: BackendError) => void,
): Promise<void> {
  const state = await attempt(swap, fail);
  if (state === undefined) return;
  onstage(state);
  router.go({ screen: 'call' });
  router.changed();
}
