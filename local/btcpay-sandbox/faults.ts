/**
 * Failures the sandbox plays on purpose on the Greenfield API (`/api/…`), before anything else
 * (authentication included) and without running the call — the way a crashed BTCPay or the
 * reverse proxy in front of it fails:
 * - `http500`: 500 with an empty body (an unhandled exception in ASP.NET Core);
 * - `unavailable`: 503 with the proxy's HTML page and `Retry-After`;
 * - `timeout`: no answer at all; the connection stays open until the client gives up.
 */
import { type FaultState as SwitchState, FaultSwitch as Switch } from '../fault-switch';
import type { FaultKind } from './contract';

export type FaultState = SwitchState<FaultKind>;

/** The shared fault switch with BTCPay's kinds; `http500` unless told otherwise. */
export class FaultSwitch extends Switch<FaultKind> {
  constructor() {
    super('http500');
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
