/**
 * Odoo-shaped failures. On `/xmlrpc/2/*` Odoo maps exceptions to integer fault codes
 * (odoo/addons/base/controllers/rpc.py, `xmlrpc_handle_exception_int`): UserError, its subclasses
 * (ValidationError, MissingError) and RedirectWarning -> 2, AccessDenied -> 3, AccessError -> 4,
 * anything else -> 1 with the Python traceback as faultString. Codes 2–4 carry the bare message.
 */

export const FAULT_APPLICATION = 1;
export const FAULT_WARNING = 2;
export const FAULT_ACCESS_DENIED = 3;
export const FAULT_ACCESS_ERROR = 4;

/** A fault with its final code and string (codes 2–4). */
export class OdooFault extends Error {
  constructor(
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(faultString);
  }
}

/** A Python exception that Odoo does not classify: becomes fault 1 with a traceback. */
export class PythonError extends Error {
  constructor(
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
}

export const userError = (message: string): OdooFault => new OdooFault(FAULT_WARNING, message);
export const accessDenied = (): OdooFault => new OdooFault(FAULT_ACCESS_DENIED, 'Access Denied');
export const accessError = (message: string): OdooFault => new OdooFault(FAULT_ACCESS_ERROR, message);
export const valueError = (message: string): PythonError => new PythonError('ValueError', message);
export const typeError = (message: string): PythonError => new PythonError('TypeError', message);

/** MissingError (a UserError): reading or writing ids that do not exist. */
export const missingError = (model: string, ids: readonly number[], uid: number): OdooFault =>
  userError(`Record does not exist or has been deleted.\n(Record: ${model}(${ids.join(', ')},), User: ${uid})`);

/** What Odoo 17 turns a NOT NULL / foreign-key violation into (a ValidationError). */
export function integrityError(detail: string, model: { name: string; description: string }, field: { name: string; string: string }): OdooFault {
  return userError(`The operation cannot be completed: ${detail}\n\nModel: ${model.description} (${model.name})\nField: ${field.string} (${field.name})`);
}

const DIST = '/usr/lib/python3/dist-packages/odoo';

/** Stack frames of the real call paths, so a faultString looks like the one Odoo 17 sends. */
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
} as const;

export type Service = 'common' | 'object' | 'db';

/** The faultString of fault 1: a traceback ending in `Exception: message`, as Odoo sends it. */
export function traceback(service: Service, exception: string, message: string): string {
  const frames = [...FRAMES.rpc, ...(service === 'object' ? FRAMES.object : FRAMES.common)];
  const lines = frames.map(([file, line, fn, code]) => `  File "${file}", line ${line}, in ${fn}\n    ${code}`);
  return `Traceback (most recent call last):\n${lines.join('\n')}\n${exception}: ${message}\n`;
}

/** The {faultCode, faultString} pair for anything a handler threw. */
export function toFault(error: unknown, service: Service): { faultCode: number; faultString: string } {
  if (error instanceof OdooFault) return { faultCode: error.faultCode, faultString: error.faultString };
  if (error instanceof PythonError) return { faultCode: FAULT_APPLICATION, faultString: traceback(service, error.exception, error.message) };
  // A sandbox bug: still an Odoo-shaped fault 1, and the cause on stderr.
  console.error('odoo-sandbox: unexpected error', error);
  const message = error instanceof Error ? error.message : String(error);
  return { faultCode: FAULT_APPLICATION, faultString: traceback(service, 'RuntimeError', `odoo-sandbox internal error: ${message}`) };
}
