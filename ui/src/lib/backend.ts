// The one door from the window to the Rust core. Every command goes through `call`, so every
// failure reaches components in one shape: a `BackendError` with a stable `code`.
import { Channel as IpcChannel, invoke } from '@tauri-apps/api/core';
import type { ErrorBody } from './generated/ErrorBody';
import type { SyncView } from './generated/SyncView';
import type { ServerProbe } from './generated/ServerProbe';
import type { SyncEvent } from './generated/SyncEvent';
import type { RejectedOp } from './generated/RejectedOp';
import type { Lead } from './generated/Lead';
import type { Session } from './generated/Session';
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
export type { ReviewStats };

export type {
  Lead,
  Session,
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

/** Who the window acts as, and their role. */
export function sessionInfo(): Promise<Session> {
  return call<Session>('session_info', {});
}

/** The named queues. */
export function queueList(): Promise<QueueDef[]> {
  return call<QueueDef[]>('queue_list', {});
}

/** A page of a queue, in the order `next` offers it. */
export function queuePage(queue: string, offset: number, limit: number): Promise<QueueEntry[]> {
  return call<QueueEntry[]>('queue_page', { queue, offset, limit });
}

/** Claims the queue's top lead; `null` when nothing is due now. */
export function queueNext(queue: string): Promise<NextLead | null> {
  return call<NextLead | null>('queue_next', { queue });
}

/** The lead's whole story and the gate's decision per channel now. */
export function leadDetail(id: string): Promise<LeadDetail> {
  return call<LeadDetail>('lead_detail', { id });
}

/** What a rep logs about an outbound contact made now. */
export interface FollowUpInput {
  lead: string;
  channel: Channel;
  outcome: Outcome;
  note: string | null;
  nextFollowUpAt: string | null;
  /** The person got in touch: recorded as inbound, without the gate's outbound check. */
  inbound?: boolean;
}

/** Logs a contact (outbound unless `inbound`); the core refuses an outbound channel the gate blocks. */
export function logFollowUp(input: FollowUpInput): Promise<FollowUp> {
  return call<FollowUp>('log_follow_up', { ...input });
}

/** Records the person's opt-out of `scope`, effective at once. */
export function optOut(lead: string, scope: ConsentScope): Promise<ConsentEvent> {
  return call<ConsentEvent>('opt_out', { lead, scope });
}

/** Leads matching the text, best first. */
export function searchLeads(text: string, limit: number): Promise<SearchHit[]> {
  return call<SearchHit[]>('search_leads', { text, limit });
}

/** A page of follow-up history with the summary of the whole filtered set. */
export function historyPage(query: HistoryQuery): Promise<HistoryPage> {
  return call<HistoryPage>('history_page', { query });
}

/** The next page of history rows (`query.offset` rows in), without the summary. */
export function historyRows(query: HistoryQuery): Promise<HistoryRow[]> {
  return call<HistoryRow[]>('history_rows', { query });
}

/** Asks where to save (native dialog) and writes every follow-up the filters match as CSV;
 * `null` when cancelled. */
export function saveHistoryExport(query: HistoryQuery): Promise<HistoryExport | null> {
  return call<HistoryExport | null>('save_history_export', { query });
}

/** The review's charts (per day by channel, speed to lead, subscriber requests) for the filters. */
export function reviewStats(query: HistoryQuery): Promise<ReviewStats> {
  return call<ReviewStats>('review_stats', { query });
}

/** Opens the OS file picker for an import file; `null` when the user cancels. */
export function pickImportFile(): Promise<string | null> {
  return call<string | null>('pick_import_file', {});
}

/** Opens the OS save dialog for a CSV file (`fileName` suggested); `null` when the user cancels. */
export function pickCsvDestination(title: string, fileName: string): Promise<string | null> {
  return call<string | null>('pick_csv_destination', { title, fileName });
}

/** Stops the running import after the batch it is writing; what was committed stays. */
export function importCancel(): Promise<void> {
  return call<void>('import_cancel', {});
}

/** Imports a CSV or JSON Lines file; `onProgress` hears after each committed batch. */
export function importFile(path: string, onProgress: (status: ImportStatus) => void): Promise<ImportSummary> {
  const channel = new IpcChannel<ImportStatus>();
  channel.onmessage = onProgress;
  return call<ImportSummary>('import_file', { path, onProgress: channel });
}

/** The registered recipients: the only ones anything can be shared with. */
export function partnerList(): Promise<Partner[]> {
  return call<Partner[]>('partner_list', {});
}

/** Shares leads (ids or emails) with a partner through the gate; writes its allowed fields to `out`. */
export function shareLeads(leads: string[], partner: string, out: string): Promise<ShareOutcome> {
  return call<ShareOutcome>('share_leads', { leads, partner, out });
}

/** Who of a segment (`country=DE,kind=trial`) may receive promotional email now. */
export function audiencePreview(segment: string): Promise<Preview> {
  return call<Preview>('audience_preview', { segment });
}

/** Exports a segment's audience as CSV to `out` and records the export. */
export function audienceExport(segment: string, out: string): Promise<Export> {
  return call<Export>('audience_export', { segment, out });
}

/** Corrects lead fields as the person asked (`{ company: 'New Co' }`; '' clears); audited. */
export function correctLead(lead: string, changes: Record<string, string>): Promise<Correction> {
  return call<Correction>('correct_lead', { lead, changes });
}

/** What erasing the lead would delete, in counts; changes nothing. */
export function erasePreview(lead: string): Promise<ErasurePreview> {
  return call<ErasurePreview>('erase_preview', { lead });
}

/** Erases the person for good; the lead stays as a skeleton without personal data. */
export function eraseLead(lead: string): Promise<ErasureReport> {
  return call<ErasureReport>('erase_lead', { lead });
}

/** Writes the lead's access report as JSON to `path` and records the access request as done. */
export function exportAccessReport(lead: string, path: string): Promise<AccessExport> {
  return call<AccessExport>('export_access_report', { lead, path });
}

/** Asks where to save the access report (native dialog) and writes it; `null` when cancelled. */
export function saveAccessReport(lead: string): Promise<AccessExport | null> {
  return call<AccessExport | null>('save_access_report', { lead });
}

/** Records a request the person made (received at `receivedAt`, RFC 3339) as open. */
export function recordRequest(
  lead: string,
  kind: RequestKind,
  detail: string | null,
  receivedAt: string,
): Promise<SubscriberRequest> {
  return call<SubscriberRequest>('record_request', { lead, kind, detail, receivedAt });
}

/** The subscriber requests inbox, soonest due first; every status when `status` is null. */
export function requestInbox(status: RequestStatus | null): Promise<InboxEntry[]> {
  return call<InboxEntry[]>('request_inbox', { status });
}

/** Marks an open request done or rejected, recording who and when. */
export function handleRequest(id: string, status: RequestStatus): Promise<SubscriberRequest> {
  return call<SubscriberRequest>('handle_request', { id, status });
}

/** Online or not, pending changes, last sync, and the operations the server rejected. */
export function syncStatus(): Promise<SyncView> {
  return call<SyncView>('sync_status', {});
}

/** The SHA-256 fingerprint of the certificate the server presents, for the user to confirm. */
export function syncProbe(serverUrl: string): Promise<ServerProbe> {
  return call<ServerProbe>('sync_probe', { serverUrl });
}

/** Signs in pinned to the confirmed `fingerprint`; the token stays in the OS keychain. */
export function syncSignIn(serverUrl: string, fingerprint: string, user: string, password: string): Promise<SyncView> {
  return call<SyncView>('sync_sign_in', { serverUrl, fingerprint, user, password });
}

/** Syncs at once instead of at the next change. */
export function syncNow(): Promise<void> {
  return call<void>('sync_now', {});
}

/** Stops syncing and removes the token from the keychain; local data stays. */
export function syncSignOut(): Promise<void> {
  return call<void>('sync_sign_out', {});
}

/** Calls `listener` on every sync event (changes applied, status moved). */
export function onSyncEvent(listener: (event: SyncEvent) => void): Promise<void> {
  const channel = new IpcChannel<SyncEvent>();
  channel.onmessage = listener;
  return call<void>('sync_subscribe', { onEvent: channel });
}

// Letters, contact through the OS opener, reminders.

/** Opens `tel:` or `mailto:` in the OS's handler if the gate allows the channel now. */
export function contactOpen(lead: string, channel: 'phone' | 'email'): Promise<ContactOpened> {
  return call<ContactOpened>('contact_open', { lead, channel });
}

/** The letter templates and the merge fields they may use. */
export function letterTemplates(): Promise<LetterTemplates> {
  return call<LetterTemplates>('letter_templates', {});
}

/** Creates (`id` null) or replaces a template; an unknown merge field is refused with `bad_input`. */
export function letterTemplateSave(id: string | null, name: string, body: string): Promise<LetterTemplate> {
  return call<LetterTemplate>('letter_template_save', { id, name, body });
}

/** Deletes a template. */
export function letterTemplateDelete(id: string): Promise<void> {
  return call<void>('letter_template_delete', { id });
}

/** The leads waiting for the next letters, with the gate's mail decision now. */
export function letterBatch(): Promise<BatchEntry[]> {
  return call<BatchEntry[]>('letter_batch', {});
}

/** Adds a lead to the next letter batch through the gate (a postal address is required). */
export function letterBatchAdd(lead: string): Promise<BatchEntry> {
  return call<BatchEntry>('letter_batch_add', { lead });
}

/** Takes a lead out of the batch. */
export function letterBatchRemove(lead: string): Promise<boolean> {
  return call<boolean>('letter_batch_remove', { lead });
}

/** Adds the leads whose mail follow-up is due. */
export function letterBatchAddDue(): Promise<AddedDue> {
  return call<AddedDue>('letter_batch_add_due', {});
}

/** The batch's letters from a template, as plain text. */
export function letterPreview(template: string): Promise<Letter[]> {
  return call<Letter[]>('letter_preview', { template });
}

/** Logs every letter of the batch as a sent mail follow-up and empties the batch. */
export function letterMarkSent(template: string | null): Promise<MarkedSent> {
  return call<MarkedSent>('letter_mark_sent', { template });
}
