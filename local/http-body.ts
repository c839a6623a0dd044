import type http from 'node:http';

/**
 * The whole request body, or undefined once it passes `limit` bytes (the declared Content-Length, or
 * what has arrived): buffering stops there and the caller answers 413. Shared by the local host and
 * the sandboxes, which each answer the 413 in their own service's shape.
 */
export function readBody(request: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        request.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks, size)));
    request.once('error', reject);
    // The connection went (a timeout answered on the socket, a client hang-up) before the body was whole.
    request.once('close', () => reject(new Error('the request closed before its body was read')));
  });
}

/** A request header's value (the first, when it was sent more than once). */
export function header(request: http.IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The text as JSON, or the text itself when it is not JSON (what a sandbox records of a body). */
export function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
