// The words a person reads for each vocabulary the core names by identifier. Screens, charts and
// legends take their words from these tables only, so an identifier like `no_answer` never shows.
import type { Channel } from './generated/Channel';
import type { ConsentAction } from './generated/ConsentAction';
import type { ConsentScope } from './generated/ConsentScope';
import type { Direction } from './generated/Direction';
import type { LeadStatus } from './generated/LeadStatus';
import type { Outcome } from './generated/Outcome';
import type { PartnerKind } from './generated/PartnerKind';
import type { RequestKind } from './generated/RequestKind';
import type { RequestStatus } from './generated/RequestStatus';
import type { TransferBasis } from './generated/TransferBasis';

/** What each channel is called on screen. */
export const CHANNEL_LABEL: Record<Channel, string> = {
  phone: 'Call',
  email: 'Email',
  mail: 'Letter',
};

/** What each outcome is called on screen. */
export const OUTCOME_LABEL: Record<Outcome, string> = {
  connected: 'Connected',
  no_answer: 'No answer',
  voicemail: 'Voicemail',
  busy: 'Busy',
  wrong_number: 'Wrong number',
  callback_requested: 'Callback requested',
  sent: 'Sent',
  replied: 'Replied',
  bounced: 'Bounced',
  returned: 'Returned',
  meeting_booked: 'Meeting booked',
  not_interested: 'Not interested',
  converted: 'Converted',
};

/** Which way a contact went. */
export const DIRECTION_LABEL: Record<Direction, string> = {
  out: 'outbound',
  in: 'inbound',
};

/** Where a lead stands. */
export const LEAD_STATUS_LABEL: Record<LeadStatus, string> = {
  new: 'New',
  working: 'Being worked',
  closed: 'Closed',
  erased: 'Erased',
};

/** A subscriber request's kind as a noun, for tables, charts and sentences. */
export const REQUEST_KIND_LABEL: Record<RequestKind, string> = {
  opt_out: 'Opt-out',
  erase: 'Erasure',
  correct: 'Correction',
  access: 'Access',
};

/** A subscriber request's kind as the choice a rep records, saying what the person asked. */
export const REQUEST_KIND_CHOICE: Record<RequestKind, string> = {
  access: 'Access (a copy of their data)',
  correct: 'Correct their data',
  erase: 'Erase their data',
  opt_out: 'Opt out of contact',
};

/** Where a subscriber request stands. */
export const REQUEST_STATUS_LABEL: Record<RequestStatus, string> = {
  open: 'open',
  done: 'done',
  rejected: 'rejected',
};

/** The outcome's words; a key the UI does not know (a newer core) shows as itself. */
export function outcomeLabel(outcome: Outcome | string): string {
  return OUTCOME_LABEL[outcome as Outcome] ?? outcome;
}

/** The channel's words; a key the UI does not know shows as itself. */
export function channelLabel(channel: Channel | string): string {
  return CHANNEL_LABEL[channel as Channel] ?? channel;
}

/** A consent event's action, as the start of a timeline line. */
export const CONSENT_ACTION_LABEL: Record<ConsentAction, string> = {
  opt_out: 'Opt-out',
  opt_in: 'Opt-in',
};

/** What a consent event covers, as the end of "Opt-out of …". */
export const CONSENT_SCOPE_LABEL: Record<ConsentScope, string> = {
  email: 'email',
  phone: 'calls',
  mail: 'letters',
  all: 'all contact',
};

/** The legal basis a disclosure to a partner's country rests on. */
export const TRANSFER_BASIS_LABEL: Record<TransferBasis, string> = {
  none_needed: 'no transfer basis needed',
  adequacy: 'adequacy decision',
  scc: 'standard contractual clauses',
  bcr: 'binding corporate rules',
};

/** What kind of partner a share goes to. */
export const PARTNER_KIND_LABEL: Record<PartnerKind, string> = {
  reseller: 'reseller',
  distributor: 'distributor',
  office: 'own office',
};
