/** Types for the internals of the `xmlrpc` package (1.3.2) the sandbox serves with. */

declare module 'xmlrpc/lib/serializer.js' {
  export function serializeMethodResponse(value: unknown): string;
  export function serializeFault(fault: { faultCode: number; faultString: string }): string;
}

declare module 'xmlrpc/lib/deserializer.js' {
  class Deserializer {
    constructor(encoding?: string);
    deserializeMethodCall(stream: NodeJS.ReadableStream, callback: (error: Error | null | undefined, methodName?: string, params?: unknown[]) => void): void;
  }
  export = Deserializer;
}
