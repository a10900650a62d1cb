// Display formats for values that come from the core as text.

const registeredFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'short',
});

/** An RFC 3339 instant in the user's locale and zone, or a dash when absent or unreadable. */
export function formatInstant(iso: string | null): string {
  if (!iso) return '—';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '—' : registeredFormat.format(at);
}

/** A text field, or a dash when the person did not give it. */
export function orDash(value: string | null): string {
  return value && value.trim() !== '' ? value : '—';
}
