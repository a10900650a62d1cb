import { afterEach, describe, expect, it } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { BackendError, newQueuePage, toBackendError } from './backend';
import { lead } from './test-fixtures';

afterEach(() => clearMocks());

describe('newQueuePage', () => {
  it('invokes new_queue_page with the page bounds and returns the leads', async () => {
    const calls: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return [lead({ id: 'a', name: 'Ada' })];
    });

    const page = await newQueuePage(20, 10);

    expect(calls).toEqual([['new_queue_page', { offset: 20, limit: 10 }]]);
    expect(page.map((l) => l.name)).toEqual(['Ada']);
  });

  it('rejects with the command error code and message', async () => {
    mockIPC(() => {
      throw { code: 'storage', message: 'database error: disk I/O error' };
    });

    const error = await newQueuePage(0, 10).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(BackendError);
    expect(error).toMatchObject({ code: 'storage', message: 'database error: disk I/O error' });
  });
});

describe('toBackendError', () => {
  it('gives failures from Tauri itself the ipc code', () => {
    const denied = toBackendError('new_queue_page not allowed by ACL');
    expect(denied.code).toBe('ipc');
    expect(denied.message).toBe('new_queue_page not allowed by ACL');
    expect(toBackendError(new Error('boom')).code).toBe('ipc');
    expect(toBackendError(42).message).toBe('42');
  });
});
