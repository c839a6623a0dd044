/** The external systems whose calls are timed as dependencies. */
export type DependencyTarget = 'stripe' | 'btcpay' | 'odoo' | 'driverApp' | 'serviceBus' | 'tables' | 'smtp';

/** One finished HTTP request, as the pipeline saw it. */
export interface RequestInfo {
  name: string;
  url: string;
  status: number;
  durationMs: number;
  operationId: string;
  success: boolean;
}

/** One finished call to an external system. */
export interface DependencyInfo {
  target: DependencyTarget;
  /** The operation, e.g. `paymentIntents.create` or `account.move/create`: never a URL with credentials. */
  name: string;
  durationMs: number;
  success: boolean;
  operationId?: string;
}

/**
 * Where requests, dependencies, events and metrics go (Application Insights in Azure).
 * A property named `operationId` on an event or exception becomes that item's operation id, so one id
 * follows a booking from the HTTP request through every queue hop. Metric properties are dimensions:
 * keep them low-cardinality (an `operationId` there is dropped).
 * Implementations drop secrets and card data; callers still should not pass them.
 */
export interface Telemetry {
  event(name: string, properties?: Record<string, string>, measurements?: Record<string, number>): void;
  request(info: RequestInfo): void;
  dependency(info: DependencyInfo): void;
  metric(name: string, value: number, properties?: Record<string, string>): void;
  exception(error: unknown, properties?: Record<string, string>): void;
  /** Sends what is buffered; call before a short-lived process exits. */
  flush(): Promise<void>;
}

/** Telemetry switched off (no connection string configured): every call is a no-op. */
export const noTelemetry: Telemetry = {
  event: () => {},
  request: () => {},
  dependency: () => {},
  metric: () => {},
  exception: () => {},
  flush: async () => {},
};

/**
 * Telemetry whose target is set later: Application Insights takes ~0.8 s to import, so the
 * composition starts with nothing and switches once start-up has loaded it.
 */
export class SwitchableTelemetry implements Telemetry {
  private target: Telemetry = noTelemetry;

  use(target: Telemetry): void {
    this.target = target;
  }

  event(name: string, properties?: Record<string, string>, measurements?: Record<string, number>): void {
    this.target.event(name, properties, measurements);
  }

  request(info: RequestInfo): void {
    this.target.request(info);
  }

  dependency(info: DependencyInfo): void {
    this.target.dependency(info);
  }

  metric(name: string, value: number, properties?: Record<string, string>): void {
    this.target.metric(name, value, properties);
  }

  exception(error: unknown, properties?: Record<string, string>): void {
    this.target.exception(error, properties);
  }

  flush(): Promise<void> {
    return this.target.flush();
  }
}

/**
 * The port with every asynchronous call reported as a dependency of `target` (name = the method,
 * duration, success); synchronous methods (e.g. a signature check) do no I/O and pass through.
 * Wrapping at the port keeps adapters free of telemetry and covers every call.
 */
export function timedPort<T extends object>(port: T, target: DependencyTarget, telemetry: Pick<Telemetry, 'dependency'>): T {
  return new Proxy(port, {
    get(object, property, receiver) {
      const member = Reflect.get(object, property, receiver) as unknown;
      if (typeof member !== 'function' || typeof property !== 'string') return member;
      return (...args: unknown[]) => {
        const started = Date.now();
        const report = (success: boolean) => telemetry.dependency({ target, name: property, durationMs: Date.now() - started, success });
        const result = (member as (...a: unknown[]) => unknown).apply(object, args);
        if (!(result instanceof Promise)) return result;
        return result.then(
          (value: unknown) => {
            // Payment results carry expected failures as values: those count as failed calls.
            report(!(typeof value === 'object' && value !== null && 'ok' in value && (value as { ok: unknown }).ok === false));
            return value;
          },
          (error: unknown) => {
            report(false);
            throw error;
          },
        );
      };
    },
  });
}
