// The one way a screen awaits the core and keeps its refusal for display.
import { toBackendError, type BackendError } from './backend';

/**
 * Awaits `call`; if it fails, hands the failure to `fail` as a `BackendError` (code and message)
 * and gives `undefined`, so the caller keeps what it showed before.
 */
export async function attempt<T>(
  call: () => Promise<T>,
  fail: (failure: BackendError) => void,
): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    fail(toBackendError(error));
    return undefined;
  }
}
