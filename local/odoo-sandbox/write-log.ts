/** Every change made through the sandbox, one JSON object per line, for humans and tests. */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { WriteRecord } from './services';

export interface WriteLogEntry extends WriteRecord {
  at: string;
  db: string;
}

export class WriteLog {
  constructor(
    private readonly path: string | false,
    private readonly db: string,
  ) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }

  // Synchronous on purpose: lines stay in call order and nothing is pending when the sandbox stops.
  append(record: WriteRecord): void {
    if (!this.path) return;
    const entry: WriteLogEntry = { at: new Date().toISOString(), db: this.db, ...record };
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
  }
}
