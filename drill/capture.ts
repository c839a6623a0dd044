/**
 * Everything the process writes to stdout and stderr while the drills run — the runtime's JSON log
 * lines, the sandboxes' complaints, any stray console output — kept in memory instead of printed,
 * so the secrets drill can read it and the table stays readable. The drill's own report goes
 * through `print`, past the capture.
 */
export class OutputCapture {
  private readonly chunks: string[] = [];
  private readonly originals = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
  private active = false;

  /** Starts capturing both streams. */
  start(): void {
    if (this.active) return;
    this.active = true;
    for (const stream of ['stdout', 'stderr'] as const) {
      const capture = (
        chunk: string | Uint8Array,
        encodingOrCallback?: BufferEncoding | ((error?: Error | null) => void),
        callback?: (error?: Error | null) => void,
      ) => {
        this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        const done = typeof encodingOrCallback === 'function' ? encodingOrCallback : callback;
        done?.();
        return true;
      };
      process[stream].write = capture as typeof process.stdout.write;
    }
  }

  /** Gives the streams back. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    process.stdout.write = this.originals.stdout;
    process.stderr.write = this.originals.stderr;
  }

  /** Writes to the real stdout, whether or not the capture is on. */
  print(text: string): void {
    this.originals.stdout(text);
  }

  /** Everything captured so far. */
  text(): string {
    return this.chunks.join('');
  }

  /** Captured lines (without empty ones). */
  lines(): string[] {
    return this.text()
      .split('\n')
      .filter((line) => line.trim() !== '');
  }
}
