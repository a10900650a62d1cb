// Shared by the window-wide single-key shortcuts (N, 1–9, ?): a key typed into a field is text,
// not a command.

/** Whether a key event's target is a field that takes typed text. */
export function isTyping(target: EventTarget | null): boolean {
  return target instanceof HTMLElement && target.closest('input, textarea, select, [contenteditable]') !== null;
}
