// The one door from the window to the Rust core. Every command goes through `call`, so every
// failure reaches components in one shape: a `BackendError` with a stable `code`.
import { Channel as IpcChannel, invoke } from '@tauri-apps/api/core';
import type { ErrorBody } from './generated/ErrorBody';
import type { Commands } from './generated/commands';
import type { SyncView } from './generated/SyncView';
import type { ServerProbe } from './generated/ServerProbe';
import type { SyncEvent } from './generated/SyncEvent';
import type { RejectedOp } from './generated/RejectedOp';
import type { Lead } from './generated/Lead';
import type { SessionInfo } from './generated/SessionInfo';
import type { QueueDef } from './generated/QueueDef';
import type { QueueEntry } from './generated/QueueEntry';
import type { NextLead } from './generated/NextLead';
import type { LeadDetail } from './generated/LeadDetail';
import type { FollowUp } from './generated/FollowUp';
import type { ConsentEvent } from './generated/ConsentEvent';
import type { ConsentScope } from './generated/ConsentScope';
import type { Channel } from './generated/Channel';
import type { Outcome } from './generated/Outcome';
import type { SearchHit } from './generated/SearchHit';
import type { HistoryQuery } from './generated/HistoryQuery';
import type { HistoryPage } from './generated/HistoryPage';
import type { HistoryRow } from './generated/HistoryRow';
import type { HistoryExport } from './generated/HistoryExport';
import type { ImportStatus } from './generated/ImportStatus';
import type { ImportSummary } from './generated/ImportSummary';
import type { Partner } from './generated/Partner';
import type { ShareOutcome } from './generated/ShareOutcome';
import type { Preview } from './generated/Preview';
import type { Export } from './generated/Export';
import type { ContactOpened } from './generated/ContactOpened';
import type { LetterTemplates } from './generated/LetterTemplates';
import type { LetterTemplate } from './generated/LetterTemplate';
import type { BatchEntry } from './generated/BatchEntry';
import type { AddedDue } from './generated/AddedDue';
import type { Letter } from './generated/Letter';
import type { MarkedSent } from './generated/MarkedSent';

export type { ContactOpened, LetterTemplates, LetterTemplate, BatchEntry, AddedDue, Letter, MarkedSent };
import type { ReviewStats } from './generated/ReviewStats';
import type { CadenceReviewLine } from './generated/CadenceReviewLine';
import type { CadenceReviewQuery } from './generated/CadenceReviewQuery';
import type { Correction } from './generated/Correction';
import type { ErasurePreview } from './generated/ErasurePreview';
import type { ErasureReport } from './generated/ErasureReport';
import type { AccessExport } from './generated/AccessExport';
import type { InboxEntry } from './generated/InboxEntry';
import type { RequestKind } from './generated/RequestKind';
import type { RequestStatus } from './generated/RequestStatus';
import type { SubscriberRequest } from './generated/SubscriberRequest';

export type {
  Correction,
  ErasurePreview,
  ErasureReport,
  AccessExport,
  InboxEntry,
  RequestKind,
  RequestStatus,
  SubscriberRequest,
};

export type { Partner, ShareOutcome, Preview, Export };
export type { SyncView, ServerProbe, SyncEvent, RejectedOp };
export type { ReviewStats, CadenceReviewLine, CadenceReviewQuery };

export type {
  Lead,
  SessionInfo,
  QueueDef,
  QueueEntry,
  NextLead,
  LeadDetail,
  FollowUp,
  ConsentEvent,
  ConsentScope,
  Channel,
  Outcome,
  SearchHit,
  HistoryQuery,
  HistoryPage,
  HistoryRow,
  HistoryExport,
  ImportStatus,
  ImportSummary,
};

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

/** Invokes a command declared in src-tauri/commands.txt, typed by its declaration. Screens call
 * the named functions below (generated from the same declarations), not this. */
export async function call<K extends keyof Commands>(
  command: K,
  args: Commands[K]['args'],
): Promise<Commands[K]['result']> {
  try {
    return await invoke<Commands[K]['result']>(command, args);
  } catch (error) {
    throw toBackendError(error);
  }
}

// One typed function per declared command (newQueuePage, leadDetail, syncStatus, …).
export * from './generated/commands';

// The commands that take a listener or an input record are written here, typed by their
// declarations all the same.

/** What a rep logs about an outbound contact made now. */
export type FollowUpInput = Commands['log_follow_up']['args'];

/** Logs a contact (outbound unless `inbound`); the core refuses an outbound channel the gate blocks. */
export function logFollowUp(input: FollowUpInput): Promise<FollowUp> {
  return call('log_follow_up', { ...input });
}

/**
 * Imports a CSV or JSON Lines file; `onProgress` hears after each committed batch. With a
 * `cadence`, every imported lead is enrolled in it as its batch commits.
 */
export function importFile(
  path: string,
  onProgress: (status: ImportStatus) => void,
  cadence: string | null = null,
): Promise<ImportSummary> {
  const channel = new IpcChannel<ImportStatus>();
  channel.onmessage = onProgress;
  return call('import_file', { path, cadence, onProgress: channel });
}

/** Calls `listener` on every sync event (changes applied, status moved). */
export function onSyncEvent(listener: (event: SyncEvent) => void): Promise<void> {
  const channel = new IpcChannel<SyncEvent>();
  channel.onmessage = listener;
  return call('sync_subscribe', { onEvent: channel });
}
