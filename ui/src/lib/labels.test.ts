import { describe, expect, it } from 'vitest';
import * as labels from './labels';

const tables = Object.entries(labels).filter(([, v]) => typeof v === 'object') as [string, Record<string, string>][];

describe('labels', () => {
  it('gives every identifier words, never the identifier itself', () => {
    expect(tables.length).toBeGreaterThanOrEqual(10);
    for (const [name, table] of tables) {
      for (const [key, words] of Object.entries(table)) {
        expect(words, `${name}.${key}`).not.toMatch(/_/);
        if (key.includes('_')) expect(words, `${name}.${key}`).not.toBe(key);
      }
    }
  });

  it('reads outcomes and channels, and shows an unknown key as itself', () => {
    expect(labels.outcomeLabel('no_answer')).toBe('No answer');
    expect(labels.outcomeLabel('meeting_booked')).toBe('Meeting booked');
    expect(labels.channelLabel('phone')).toBe('Call');
    expect(labels.outcomeLabel('from_a_newer_core')).toBe('from_a_newer_core');
  });
});
