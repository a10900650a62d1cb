// The words a person reads for each vocabulary the core names by identifier. Screens, charts and
// legends take their words from these tables only, so an identifier like `no_answer` never shows.
import type { Channel } from './generated/Channel';
import type { ConsentAction } from './generated/ConsentAction';
import type { ConsentScope } from './generated/ConsentScope';
import type { Direction } from './generated/Direction';
import type { LeadStatus } from './generated/LeadStatus';
import type { CadenceStep } from './generated/CadenceStep';
import type { MailState } from './generated/MailState';
import type { SmtpSecurity } from './generated/SmtpSecurity';
import type { Outcome } from './generated/Outcome';
import type { PartnerKind } from './generated/PartnerKind';
import type { RequestKind } from './generated/RequestKind';
import type { RequestStatus } from './generated/RequestStatus';
import type { Role } from './generated/Role';
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

/** What each role is called on screen. */
export const ROLE_LABEL: Record<Role, string> = {
  rep: 'rep',
  manager: 'manager',
  admin: 'administrator',
  privacy: 'privacy staff',
  privacy_officer: 'privacy officer',
};

/** The role's words; a key the UI does not know shows as itself. */
export function roleLabel(role: Role | string): string {
  return ROLE_LABEL[role as Role] ?? role;
}

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

/** Where a mail of the outbox stands. */
export const MAIL_STATE_LABEL: Record<MailState, string> = {
  queued: 'Queued',
  sending: 'Interrupted while sending',
  sent: 'Sent',
  cancelled: 'Cancelled by the contact rules',
  failed: 'Failed',
};

/** How the SMTP connection is secured, as the settings offer it. */
export const SMTP_SECURITY_LABEL: Record<SmtpSecurity, string> = {
  start_tls: 'STARTTLS (usually port 587)',
  tls: 'TLS from the start (usually port 465)',
};

/** Where a lead's enrolment in a cadence stands. */
export const CADENCE_STATE_LABEL: Record<string, string> = {
  active: 'Running',
  completed: 'Completed',
  stopped: 'Stopped',
};

/** Why a cadence stopped, in words ("manual: rita" reads "stopped by rita"). */
export function stopReasonLabel(reason: string | null): string {
  if (!reason) return 'stopped';
  if (reason.startsWith('manual: ')) return `stopped by ${reason.slice('manual: '.length)}`;
  if (reason.startsWith('opted_out_')) {
    const scope = reason.slice('opted_out_'.length) as ConsentScope;
    return `opted out of ${CONSENT_SCOPE_LABEL[scope] ?? scope}`;
  }
  const words: Record<string, string> = {
    replied: 'the person replied',
    meeting_booked: 'a meeting was booked',
    not_interested: 'not interested',
    converted: 'the lead converted',
    erased: 'the person was erased',
    closed: 'the lead was closed',
    moved_office: 'the lead moved to another office',
    bounced: 'the email address bounced',
  };
  return words[reason] ?? outcomeLabel(reason).toLowerCase();
}

/** A cadence step in words: "Email with the template 'Hello'", "Wait 2 business days". */
export function stepLabel(step: CadenceStep): string {
  switch (step.kind) {
    case 'email':
      return `Email with the template '${step.template}'`;
    case 'call':
      return `Call: ${step.script}`;
    case 'letter':
      return `Letter with the template '${step.template}'`;
    case 'wait':
      return `Wait ${step.business_days} business day${step.business_days === 1 ? '' : 's'}`;
  }
}
