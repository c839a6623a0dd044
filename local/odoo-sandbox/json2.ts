/**
 * Odoo 19's External JSON-2 API, the HTTP half: what `/json/2/…` answers before and after the model
 * call that services.ts runs, in the order Odoo's layers act.
 *
 * 1. Database: `X-Odoo-Database` naming another database leaves the request without one, where no
 *    JSON-2 route exists: Werkzeug's HTML 404 page. Without the header the one database is used.
 * 2. Dispatcher: a Content-Type other than `application/json` is refused before any JSON-2 code
 *    runs: Werkzeug's HTML 400 page.
 * 3. Route: only `POST /json/2/<model>/<method>` is the call; any other method or path under
 *    `/json/2` is JSON-2's catch-all, a JSON 404 "Did you mean POST /json/2/<model>/<method>?".
 * 4. `Authorization: bearer <API key>` (the scheme in any case): none, 401 "User not
 *    authenticated…"; an unknown key, 401 "Invalid apikey" (both with `WWW-Authenticate: Bearer`).
 * 5. Body: JSON that does not parse, or is not an object, 400; an empty body is no argument.
 * 6. The call (services.ts): unknown model or method 404, private method 403, ids on an @api.model
 *    method or arguments that do not bind 422, then the method's own exceptions.
 *
 * Success is 200 with the method's result as JSON; every error after step 2 is the JSON body of
 * `serialize_exception` with the status of faults.ts (`toJson2Error`).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { badRequestPage, type FailureKind, NOT_FOUND_PAGE, PERMANENT_FAULTS, TRANSIENT_FAULT } from './fault-injection';
import { HttpError, PythonError, toJson2Error, validationError } from './faults';
import type { OdooDatabase, WriteRecord } from './services';

/** An answer to write on the wire. */
export interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';
const CALL_PATH = /^\/json\/2\/([^/]+)\/([^/]+)$/;
const BEARER = /^bearer\s+(.+)$/i;

/** Whether `path` belongs to JSON-2 (its call route or its catch-all). */
export const isJson2Path = (path: string): boolean => path === '/json/2' || path.startsWith('/json/2/');

/** The model and method of a JSON-2 call (`POST /json/2/<model>/<method>`), or undefined for anything else. */
export function json2Call(httpMethod: string | undefined, path: string): { model: string; method: string } | undefined {
  const match = CALL_PATH.exec(path);
  if (httpMethod !== 'POST' || !match) return undefined;
  try {
    return { model: decodeURIComponent(match[1] ?? ''), method: decodeURIComponent(match[2] ?? '') };
  } catch {
    return undefined;
  }
}

/** Serves one request under `/json/2`; `write` is the change to log, when the call made one. */
export function serveJson2(
  database: OdooDatabase,
  request: { method: string | undefined; path: string; headers: IncomingHttpHeaders; body: Buffer },
): { reply: HttpReply; write?: WriteRecord } {
  const { headers } = request;
  const named = headers['x-odoo-database'];
  if (named !== undefined && named !== database.db) return { reply: { status: 404, headers: { 'Content-Type': HTML_TYPE }, body: NOT_FOUND_PAGE } };
  const mimetype = String(headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (mimetype !== 'application/json') {
    const description = "Request inferred type is compatible with ['http'] but '/json/2/rpc' was forced.";
    return { reply: { status: 400, headers: { 'Content-Type': HTML_TYPE }, body: badRequestPage(description) } };
  }
  try {
    const call = json2Call(request.method, request.path);
    if (!call) throw new HttpError(404, 'NotFound', 'Did you mean POST /json/2/<model>/<method>?');
    const key = BEARER.exec(headers.authorization ?? '')?.[1]?.trim();
    const challenge = { 'WWW-Authenticate': 'Bearer' };
    if (!key) throw new HttpError(401, 'Unauthorized', 'User not authenticated, use the "Authorization" header', challenge);
    const account = database.apiKeyUser(key);
    if (!account) throw new HttpError(401, 'Unauthorized', 'Invalid apikey', challenge);
    const { result, write } = database.json2(account, call.model, call.method, readParams(request.body));
    return { reply: jsonReply(200, result ?? null), write };
  } catch (error) {
    return { reply: errorReply(error) };
  }
}

/** The named arguments of the body: a JSON object, or nothing when the body is empty. */
function readParams(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    // Python's json module words it differently ("Expecting value: line 1 column 1 (char 0)").
    throw new HttpError(400, 'BadRequest', `could not parse the body as json: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new HttpError(400, 'BadRequest', 'could not parse the body, expecting a json object');
  }
  return parsed as Record<string, unknown>;
}

/** The JSON-2 answer of an injected failure that answers at all (`fault`, `validation`, `valueError`, `parseError`). */
export function json2Failure(kind: Extract<FailureKind, 'fault' | 'validation' | 'valueError' | 'parseError'>): HttpReply {
  switch (kind) {
    case 'fault':
      return errorReply(new PythonError(TRANSIENT_FAULT.exception, TRANSIENT_FAULT.message));
    case 'validation':
      return errorReply(validationError(PERMANENT_FAULTS.validation.message));
    case 'valueError':
      return errorReply(new PythonError(PERMANENT_FAULTS.valueError.exception, PERMANENT_FAULTS.valueError.message));
    case 'parseError':
      return errorReply(new HttpError(400, 'BadRequest', PERMANENT_FAULTS.json2ParseError.message));
  }
}

function errorReply(error: unknown): HttpReply {
  const { status, headers, body } = toJson2Error(error);
  return { ...jsonReply(status, body), headers: { ...headers, 'Content-Type': JSON_TYPE } };
}

export const jsonReply = (status: number, value: unknown): HttpReply => ({ status, headers: { 'Content-Type': JSON_TYPE }, body: JSON.stringify(value) });
