/**
 * Failures the sandbox plays on purpose on the Greenfield API (`/api/…`), before anything else
 * (authentication included) and without running the call — the way a crashed BTCPay or the
 * reverse proxy in front of it fails:
 * - `http500`: 500 with an empty body (an unhandled exception in ASP.NET Core);
 * - `unavailable`: 503 with the proxy's HTML page and `Retry-After`;
 * - `timeout`: no answer at all; the connection stays open until the client gives up.
 */
import type { FaultKind } from './contract';

export interface FaultState {
  /** Calls still to fail by count. */
  remaining: number;
  /** When the time window ends (ISO 8601), if one is set. */
  until: string | null;
  kind: FaultKind;
}

export class FaultSwitch {
  private remaining = 0;
  private untilMs: number | undefined;
  private kind: FaultKind = 'http500';

  /** The next `count` API calls fail with `kind`. */
  failNext(count: number, kind: FaultKind = 'http500'): FaultState {
    this.remaining = count;
    this.untilMs = undefined;
    this.kind = kind;
    return this.state();
  }

  /** Every API call during the next `ms` milliseconds fails with `kind`. */
  failFor(ms: number, kind: FaultKind = 'http500'): FaultState {
    this.remaining = 0;
    this.untilMs = Date.now() + ms;
    this.kind = kind;
    return this.state();
  }

  clear(): void {
    this.remaining = 0;
    this.untilMs = undefined;
  }

  /** The failure for the API call that just arrived, if any. */
  take(): FaultKind | undefined {
    if (this.remaining > 0) {
      this.remaining -= 1;
      return this.kind;
    }
    if (this.untilMs !== undefined && Date.now() < this.untilMs) return this.kind;
    this.untilMs = undefined;
    return undefined;
  }

  state(): FaultState {
    const active = this.untilMs !== undefined && Date.now() < this.untilMs;
    return { remaining: this.remaining, until: active ? new Date(this.untilMs as number).toISOString() : null, kind: this.kind };
  }
}

/** What nginx in front of BTCPay answers when the app is down. */
export const SERVICE_UNAVAILABLE_PAGE = `<html>
<head><title>503 Service Temporarily Unavailable</title></head>
<body>
<center><h1>503 Service Temporarily Unavailable</h1></center>
<hr><center>nginx</center>
</body>
</html>
`;
