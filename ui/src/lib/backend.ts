// The one door from the window to the Rust core. Every command goes through `call`, so every
// failure reaches components in one shape: a `BackendError` with a stable `code`.
import { invoke } from '@tauri-apps/api/core';
import type { ErrorBody } from './generated/ErrorBody';
import type { Lead } from './generated/Lead';

export type { Lead };

/** A failed backend call. Components branch on `code`, never on `message`. */
export class BackendError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'BackendError';
    this.code = code;
  }
}

/** Tauri itself (not our commands) rejects with bare strings: denied by capabilities, bad args. */
const IPC_FAILURE = 'ipc';

/** A command's own failure: the shell sends the protocol's `ErrorBody`. */
function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Turns whatever `invoke` rejected with into a `BackendError`. */
export function toBackendError(error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  if (isErrorBody(error)) return new BackendError(error.code, error.message);
  if (typeof error === 'string') return new BackendError(IPC_FAILURE, error);
  if (error instanceof Error) return new BackendError(IPC_FAILURE, error.message);
  return new BackendError(IPC_FAILURE, String(error));
}

async function call<T>(command: string, args: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toBackendError(error);
  }
}

/** One page of the `new` queue: unworked leads, newest registration first. */
export function newQueuePage(offset: number, limit: number): Promise<Lead[]> {
  return call<Lead[]>('new_queue_page', { offset, limit });
}
