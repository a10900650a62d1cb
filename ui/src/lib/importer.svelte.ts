// The running import outlives its screen: a rep may open another screen while a large file is
// imported, and coming back shows its progress, its Cancel button and then its report.

import {
  importCancel,
  importFile,
  pickImportFile,
  toBackendError,
  type BackendError,
  type ImportStatus,
  type ImportSummary,
} from './backend';
import { router } from './router.svelte';

class Importer {
  path = $state('');
  /** The cadence to enrol every imported lead in; empty for none. */
  cadence = $state('');
  running = $state(false);
  cancelling = $state(false);
  picking = $state(false);
  status = $state<ImportStatus | null>(null);
  summary = $state<ImportSummary | null>(null);
  failure = $state<BackendError | null>(null);

  /** Percent of the file's bytes parsed so far (0 when its size is unknown). */
  get percent(): number {
    const s = this.status;
    return s && s.bytes_total > 0 ? Math.round((100 * s.bytes_read) / s.bytes_total) : 0;
  }

  /** Fills the path from the OS picker; a cancelled picker keeps whatever path was there. */
  async choose() {
    this.picking = true;
    this.failure = null;
    try {
      const picked = await pickImportFile();
      if (picked !== null) this.path = picked;
    } catch (error) {
      this.failure = toBackendError(error);
    } finally {
      this.picking = false;
    }
  }

  async start() {
    if (this.running) return;
    this.running = true;
    this.cancelling = false;
    this.status = null;
    this.summary = null;
    this.failure = null;
    try {
      const cadence = this.cadence.trim() || null;
      this.summary = await importFile(this.path.trim(), (s) => (this.status = s), cadence);
    } catch (error) {
      this.failure = toBackendError(error);
    } finally {
      this.running = false;
      this.cancelling = false;
      // Whatever was committed is new to the other screens (the queue a rep moved to meanwhile).
      router.changed();
    }
  }

  /** Asks the running import to stop after the batch it is writing. */
  async cancel() {
    this.cancelling = true;
    try {
      await importCancel();
    } catch (error) {
      this.failure = toBackendError(error);
      this.cancelling = false;
    }
  }

  /** Forgets everything (tests start from a fresh screen). */
  reset() {
    this.path = '';
    this.cadence = '';
    this.running = false;
    this.cancelling = false;
    this.picking = false;
    this.status = null;
    this.summary = null;
    this.failure = null;
  }
}

export const importer = new Importer();
