// Outcome choices per channel; the words for them are in labels.ts. The core validates every
// outcome against its channel (`Outcome::allowed_on`); this list only decides which buttons the
// log panel offers.
import type { Channel } from './generated/Channel';
import type { Outcome } from './generated/Outcome';

export { CHANNEL_LABEL, outcomeLabel } from './labels';

/** The outcome buttons offered per channel, in number-key order. */
export const OUTCOMES: Record<Channel, Outcome[]> = {
  phone: [
    'connected',
    'no_answer',
    'voicemail',
    'busy',
    'callback_requested',
    'meeting_booked',
    'not_interested',
    'wrong_number',
    'converted',
  ],
  email: ['sent', 'replied', 'bounced', 'meeting_booked', 'not_interested', 'converted'],
  mail: ['sent', 'replied', 'returned', 'not_interested', 'converted'],
};
