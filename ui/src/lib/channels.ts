// Labels and outcome choices per channel. The core validates every outcome against its channel
// (`Outcome::allowed_on`); this list only decides which buttons the log panel offers.
import type { Channel } from './generated/Channel';
import type { Outcome } from './generated/Outcome';

/** What each channel is called on screen. */
export const CHANNEL_LABEL: Record<Channel, string> = {
  phone: 'Call',
  email: 'Email',
  mail: 'Letter',
};

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

/** "no_answer" → "No answer". */
export function outcomeLabel(outcome: Outcome): string {
  const words = outcome.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
