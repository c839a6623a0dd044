// An accountant's view of Odoo: XML-RPC, nothing of the app's code (the e2e tests read the Odoo
// sandbox back with it, as a script of the accountant's would).
import xmlrpc from 'xmlrpc';

export type Many2one = [number, string] | false;

export interface OdooPartner {
  id: number;
  name: string;
  email: string | false;
  ref: string | false;
}

export interface OdooMove {
  id: number;
  name: string;
  move_type: string;
  state: string;
  ref: string | false;
  partner_id: Many2one;
  amount_total: number;
  amount_residual: number;
  payment_state: string;
  invoice_date: string | false;
  reversed_entry_id: Many2one;
}

export interface OdooLine {
  id: number;
  name: string;
  quantity: number;
  price_unit: number;
  price_subtotal: number;
}

export interface OdooPayment {
  id: number;
  memo: string | false;
  ref: string | false;
  amount: number;
  state: string;
  payment_type: string;
  partner_id: Many2one;
  reconciled_invoice_ids: number[];
}

export function rpc(client: xmlrpc.Client, method: string, params: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => client.methodCall(method, params, (error, value) => (error ? reject(error) : resolve(value))));
}

export const MOVE_FIELDS = [
  'name',
  'move_type',
  'state',
  'ref',
  'partner_id',
  'amount_total',
  'amount_residual',
  'payment_state',
  'invoice_date',
  'reversed_entry_id',
];

/** Logs in over `/xmlrpc/2/common` and reads with `execute_kw` on `/xmlrpc/2/object`. */
export class OdooReader {
  private constructor(
    private readonly object: xmlrpc.Client,
    private readonly db: string,
    private readonly uid: number,
    private readonly password: string,
  ) {}

  static async login(url: string, db = 'sandbox', login = 'admin', password = 'admin'): Promise<OdooReader> {
    const uid = await rpc(xmlrpc.createClient({ url: `${url}/xmlrpc/2/common` }), 'authenticate', [db, login, password, {}]);
    if (typeof uid !== 'number') throw new Error(`Odoo refused ${login} on ${db}: ${String(uid)}`);
    return new OdooReader(xmlrpc.createClient({ url: `${url}/xmlrpc/2/object` }), db, uid, password);
  }

  searchRead<T>(model: string, domain: unknown[], fields: string[]): Promise<T[]> {
    return rpc(this.object, 'execute_kw', [this.db, this.uid, this.password, model, 'search_read', [domain], { fields, order: 'id asc' }]) as Promise<T[]>;
  }

  partners(email: string): Promise<OdooPartner[]> {
    return this.searchRead('res.partner', [['email', '=ilike', email]], ['name', 'email', 'ref']);
  }

  /** Customer invoices whose ref is one of ours. */
  invoices(...refs: string[]): Promise<OdooMove[]> {
    return this.searchRead(
      'account.move',
      [
        ['move_type', '=', 'out_invoice'],
        ['ref', 'in', refs],
      ],
      MOVE_FIELDS,
    );
  }

  invoicesOf(partnerId: number): Promise<OdooMove[]> {
    return this.searchRead(
      'account.move',
      [
        ['move_type', '=', 'out_invoice'],
        ['partner_id', '=', partnerId],
      ],
      MOVE_FIELDS,
    );
  }

  creditNotesFor(invoiceId: number): Promise<OdooMove[]> {
    return this.searchRead(
      'account.move',
      [
        ['move_type', '=', 'out_refund'],
        ['reversed_entry_id', '=', invoiceId],
      ],
      MOVE_FIELDS,
    );
  }

  lines(moveId: number): Promise<OdooLine[]> {
    return this.searchRead('account.move.line', [['move_id', '=', moveId]], ['name', 'quantity', 'price_unit', 'price_subtotal']);
  }

  payments(memo: string): Promise<OdooPayment[]> {
    return this.searchRead(
      'account.payment',
      [['memo', '=', memo]],
      ['memo', 'ref', 'amount', 'state', 'payment_type', 'partner_id', 'reconciled_invoice_ids'],
    );
  }
}
