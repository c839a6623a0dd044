/**
 * Odoo-shaped failures, in the two forms of the external API.
 *
 * XML-RPC (`/xmlrpc/2/*`, odoo/addons/base/controllers/rpc.py, `xmlrpc_handle_exception_int`):
 * UserError, its subclasses (ValidationError, MissingError) and RedirectWarning -> fault 2,
 * AccessDenied -> 3, AccessError -> 4, anything else -> 1 with the Python traceback as faultString.
 * Codes 2–4 carry the bare message.
 *
 * JSON-2 (`/json/2/<model>/<method>`, Odoo 19's json2 dispatcher): the HTTP status of the exception
 * (`http_status` of odoo/exceptions.py: UserError and ValidationError 422, MissingError 404,
 * AccessError and AccessDenied 403; a werkzeug HTTPException its own code; anything else 500) and
 * the body of `odoo.http.serialize_exception`: `{name, message, arguments, context, debug}`.
 */

export const FAULT_APPLICATION = 1;
export const FAULT_WARNING = 2;
export const FAULT_ACCESS_DENIED = 3;
export const FAULT_ACCESS_ERROR = 4;

/** The classes of odoo.exceptions the sandbox raises, with their XML-RPC fault code and JSON-2 status. */
const ODOO_EXCEPTIONS = {
  UserError: { faultCode: FAULT_WARNING, status: 422 },
  ValidationError: { faultCode: FAULT_WARNING, status: 422 },
  MissingError: { faultCode: FAULT_WARNING, status: 404 },
  AccessError: { faultCode: FAULT_ACCESS_ERROR, status: 403 },
  AccessDenied: { faultCode: FAULT_ACCESS_DENIED, status: 403 },
} as const;

export type OdooExceptionClass = keyof typeof ODOO_EXCEPTIONS;

/** An exception of odoo.exceptions: a bare-message fault 2–4 over XML-RPC, a 4xx over JSON-2. */
export class OdooFault extends Error {
  readonly faultCode: number;
  readonly status: number;

  constructor(
    readonly exception: OdooExceptionClass,
    message: string,
  ) {
    super(message);
    ({ faultCode: this.faultCode, status: this.status } = ODOO_EXCEPTIONS[exception]);
  }

  get faultString(): string {
    return this.message;
  }

  /** Its fully qualified Python name, as JSON-2 reports it. */
  get pythonName(): string {
    return `odoo.exceptions.${this.exception}`;
  }
}

/** A Python exception that Odoo does not classify: fault 1 with a traceback, HTTP 500 on JSON-2. */
export class PythonError extends Error {
  constructor(
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
}

/** A werkzeug HTTPException raised by Odoo's HTTP layer (JSON-2 only): its status, description and headers. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    /** werkzeug's class name: `NotFound`, `Unauthorized`, `UnprocessableEntity`, `BadRequest`. */
    readonly exception: string,
    description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
  }
}

export const userError = (message: string): OdooFault => new OdooFault('UserError', message);
export const validationError = (message: string): OdooFault => new OdooFault('ValidationError', message);
export const accessDenied = (): OdooFault => new OdooFault('AccessDenied', 'Access Denied');
export const accessError = (message: string): OdooFault => new OdooFault('AccessError', message);
export const valueError = (message: string): PythonError => new PythonError('ValueError', message);
export const typeError = (message: string): PythonError => new PythonError('TypeError', message);

/** MissingError: reading or writing ids that do not exist. */
export const missingError = (model: string, ids: readonly number[], uid: number): OdooFault =>
  new OdooFault('MissingError', `Record does not exist or has been deleted.\n(Record: ${model}(${ids.join(', ')},), User: ${uid})`);

/** What Odoo 17 turns a NOT NULL / foreign-key violation into (a ValidationError). */
export function integrityError(detail: string, model: { name: string; description: string }, field: { name: string; string: string }): OdooFault {
  return validationError(`The operation cannot be completed: ${detail}\n\nModel: ${model.description} (${model.name})\nField: ${field.string} (${field.name})`);
}

const DIST = '/usr/lib/python3/dist-packages/odoo';

type Frame = readonly [file: string, line: number, fn: string, code: string];

/** Stack frames of the real call paths, so a traceback looks like the one Odoo sends. */
const FRAMES = {
  rpc: [
    [`${DIST}/addons/base/controllers/rpc.py`, 165, 'xmlrpc_2', 'response = self._xmlrpc(service)'],
    [`${DIST}/addons/base/controllers/rpc.py`, 139, '_xmlrpc', 'result = dispatch_rpc(service, method, params)'],
    [`${DIST}/http.py`, 394, 'dispatch_rpc', 'return dispatch(method, params)'],
  ],
  common: [[`${DIST}/service/common.py`, 19, 'dispatch', 'return g[exp_method_name](*params)']],
  object: [
    [`${DIST}/service/model.py`, 61, 'dispatch', 'res = execute_kw(db, uid, *params[3:])'],
    [`${DIST}/service/model.py`, 84, 'execute_kw', 'return execute(db, uid, obj, method, *args, **kw or {})'],
    [`${DIST}/service/model.py`, 90, 'execute', 'res = execute_cr(cr, uid, obj, method, *args, **kw)'],
    [`${DIST}/service/model.py`, 74, 'execute_cr', 'result = retrying(partial(odoo.api.call_kw, recs, method, args, kw), env)'],
    [`${DIST}/service/model.py`, 157, 'retrying', 'result = func()'],
    [`${DIST}/api.py`, 466, 'call_kw', 'result = _call_kw_multi(method, model, args, kwargs)'],
  ],
  /** Answering a method that returned None: the call has run and committed by then. */
  marshal: [
    [`${DIST}/addons/base/controllers/rpc.py`, 165, 'xmlrpc_2', 'response = self._xmlrpc(service)'],
    [`${DIST}/addons/base/controllers/rpc.py`, 140, '_xmlrpc', 'return dumps((result,))'],
    [`${DIST}/addons/base/controllers/rpc.py`, 124, 'dumps', 'response = OdooMarshaller(allow_none=False).dumps(params)'],
    ['/usr/lib/python3.12/xmlrpc/client.py', 540, 'dump_nil', 'raise TypeError("cannot marshal None unless allow_none is enabled")'],
  ],
  // Odoo 19's JSON-2 path (the first three as in the traceback of Odoo's JSON-2 documentation).
  json2: [
    [`${DIST}/http.py`, 2212, '_transactioning', 'return service_model.retrying(func, env=self.env)'],
    [`${DIST}/service/model.py`, 176, 'retrying', 'result = func()'],
    [`${DIST}/http.py`, 2179, '_serve_ir_http', 'response = self.dispatcher.dispatch(rule.endpoint, args)'],
    [`${DIST}/addons/web/controllers/json2.py`, 55, 'dispatch', "result = self.request.registry['ir.http']._dispatch(endpoint)"],
    [`${DIST}/addons/base/models/ir_http.py`, 333, '_dispatch', 'result = endpoint(**request.params)'],
    [`${DIST}/http.py`, 757, 'route_wrapper', 'result = endpoint(self, *args, **params_ok)'],
  ],
  json2Method: [[`${DIST}/addons/web/controllers/json2.py`, 146, 'web_json_2_rpc', 'result = func(records, **kwargs)']],
  json2Auth: [
    [`${DIST}/http.py`, 2212, '_transactioning', 'return service_model.retrying(func, env=self.env)'],
    [`${DIST}/service/model.py`, 176, 'retrying', 'result = func()'],
    [`${DIST}/http.py`, 2177, '_serve_ir_http', "self.registry['ir.http']._authenticate(rule.endpoint)"],
    [`${DIST}/addons/base/models/ir_http.py`, 274, '_authenticate', 'cls._authenticate_explicit(auth)'],
    [`${DIST}/addons/base/models/ir_http.py`, 283, '_authenticate_explicit', "getattr(cls, f'_auth_method_{auth}')()"],
    [`${DIST}/addons/base/models/ir_http.py`, 240, '_auth_method_bearer', 'raise werkzeug.exceptions.Unauthorized('],
  ],
} as const satisfies Record<string, readonly Frame[]>;

export type Service = 'common' | 'object' | 'db';

function formatTraceback(frames: readonly Frame[], lastLine: string): string {
  const lines = frames.map(([file, line, fn, code]) => `  File "${file}", line ${line}, in ${fn}\n    ${code}`);
  return `Traceback (most recent call last):\n${lines.join('\n')}\n${lastLine}\n`;
}

/** The faultString of fault 1: a traceback ending in `Exception: message`, as Odoo sends it. */
export function traceback(service: Service, exception: string, message: string): string {
  return formatTraceback([...FRAMES.rpc, ...(service === 'object' ? FRAMES.object : FRAMES.common)], `${exception}: ${message}`);
}

/**
 * Odoo answers XML-RPC with `allow_none=False`: a method that returns None (button_draft,
 * action_cancel, …) has run and committed, and the client still gets this fault 1.
 */
export const marshalNoneFault = (): { faultCode: number; faultString: string } => ({
  faultCode: FAULT_APPLICATION,
  faultString: formatTraceback(FRAMES.marshal, 'TypeError: cannot marshal None unless allow_none is enabled'),
});

/** The {faultCode, faultString} pair for anything a handler threw. */
export function toFault(error: unknown, service: Service): { faultCode: number; faultString: string } {
  if (error instanceof OdooFault) return { faultCode: error.faultCode, faultString: error.faultString };
  if (error instanceof PythonError) return { faultCode: FAULT_APPLICATION, faultString: traceback(service, error.exception, error.message) };
  // A sandbox bug: still an Odoo-shaped fault 1, and the cause on stderr.
  console.error('odoo-sandbox: unexpected error', error);
  const message = error instanceof Error ? error.message : String(error);
  return { faultCode: FAULT_APPLICATION, faultString: traceback(service, 'RuntimeError', `odoo-sandbox internal error: ${message}`) };
}

/** The body of a JSON-2 error: `odoo.http.serialize_exception`. */
export interface Json2ErrorBody {
  /** The exception's fully qualified Python name (`odoo.exceptions.UserError`, `builtins.ValueError`). */
  name: string;
  message: string;
  arguments: unknown[];
  context: Record<string, unknown>;
  /** The traceback. */
  debug: string;
}

export interface Json2ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: Json2ErrorBody;
}

/** Python prints builtins bare in a traceback (`ValueError: …`) but serialize_exception names their module. */
const qualified = (exception: string): string => (exception.includes('.') ? exception : `builtins.${exception}`);

/** The status, headers and body Odoo's JSON-2 dispatcher answers for anything a call threw. */
export function toJson2Error(error: unknown): Json2ErrorReply {
  const reply = (status: number, name: string, message: string, args: unknown[], frames: readonly Frame[], printed: string, headers = {}) => ({
    status,
    headers,
    body: { name, message, arguments: args, context: {}, debug: formatTraceback(frames, `${printed}: ${message}`) },
  });
  if (error instanceof HttpError) {
    const name = `werkzeug.exceptions.${error.exception}`;
    const frames = error.status === 401 ? FRAMES.json2Auth : FRAMES.json2;
    return reply(
      error.status,
      name,
      error.message,
      [error.message, error.status],
      frames,
      `${name}: ${error.status} ${STATUS_TEXT[error.status] ?? ''}`.trimEnd(),
      error.headers,
    );
  }
  const method = [...FRAMES.json2, ...FRAMES.json2Method];
  if (error instanceof OdooFault) return reply(error.status, error.pythonName, error.message, [error.message], method, error.pythonName);
  if (error instanceof PythonError) return reply(500, qualified(error.exception), error.message, [error.message], method, error.exception);
  console.error('odoo-sandbox: unexpected error', error);
  const message = `odoo-sandbox internal error: ${error instanceof Error ? error.message : String(error)}`;
  return reply(500, 'builtins.RuntimeError', message, [message], method, 'RuntimeError');
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  422: 'Unprocessable Entity',
};
