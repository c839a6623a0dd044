/**
 * The models the sandbox serves and their fields, named and typed as in Odoo 17 (a subset).
 * `computed` fields are set by the sandbox only: derived on every read (compute.ts) or set by
 * actions (a move's `name` and `state` by `action_post`). Values clients write to them are ignored,
 * as Odoo recomputes stored computed fields right after a write.
 */

export type FieldType =
  | 'integer'
  | 'float'
  | 'monetary'
  | 'char'
  | 'text'
  | 'boolean'
  | 'date'
  | 'datetime'
  | 'selection'
  | 'many2one'
  | 'one2many'
  | 'many2many';

export interface FieldDef {
  type: FieldType;
  /** The label Odoo shows (and puts in error messages). */
  string: string;
  /** Comodel of relational fields. */
  relation?: string;
  /** one2many: the many2one field on the comodel that points back. */
  inverse?: string;
  selection?: readonly string[];
  required?: boolean;
  computed?: boolean;
  default?: unknown;
}

export interface ModelDef {
  name: string;
  /** `_description`, used in messages ("Journal Entry (account.move)"). */
  description: string;
  fields: Record<string, FieldDef>;
  /** `_order`, the default of search. */
  order: string;
  /** Served read-only over RPC: seed data, or records only actions create. */
  readOnly?: boolean;
}

const char = (string: string, extra: Partial<FieldDef> = {}): FieldDef => ({ type: 'char', string, ...extra });
const m2o = (string: string, relation: string, extra: Partial<FieldDef> = {}): FieldDef => ({ type: 'many2one', string, relation, ...extra });
const money = (string: string, extra: Partial<FieldDef> = {}): FieldDef => ({ type: 'monetary', string, ...extra });
const selection = (string: string, values: readonly string[], extra: Partial<FieldDef> = {}): FieldDef => ({
  type: 'selection',
  string,
  selection: values,
  ...extra,
});
const computed = { computed: true } as const;

/** Every model has these (Odoo's magic fields, minus create_uid/write_uid: res.users is not served). */
const MAGIC: Record<string, FieldDef> = {
  id: { type: 'integer', string: 'ID', computed: true },
  display_name: char('Display Name', computed),
  create_date: { type: 'datetime', string: 'Created on', computed: true },
  write_date: { type: 'datetime', string: 'Last Updated on', computed: true },
};

export const MOVE_TYPES = ['entry', 'out_invoice', 'out_refund', 'in_invoice', 'in_refund', 'out_receipt', 'in_receipt'] as const;
export const PAYMENT_STATES = ['not_paid', 'in_payment', 'paid', 'partial', 'reversed', 'invoicing_legacy'] as const;

const MODELS: ModelDef[] = [
  {
    name: 'res.partner',
    description: 'Contact',
    order: 'display_name, id desc',
    fields: {
      name: char('Name'),
      email: char('Email'),
      phone: char('Phone'),
      mobile: char('Mobile'),
      ref: char('Reference'),
      vat: char('Tax ID'),
      street: char('Street'),
      street2: char('Street2'),
      zip: char('Zip'),
      city: char('City'),
      lang: char('Language', { default: 'en_US' }),
      comment: { type: 'text', string: 'Notes' },
      type: selection('Address Type', ['contact', 'invoice', 'delivery', 'other'], { default: 'contact' }),
      parent_id: m2o('Related Company', 'res.partner'),
      is_company: { type: 'boolean', string: 'Is a Company', default: false },
      active: { type: 'boolean', string: 'Active', default: true },
      customer_rank: { type: 'integer', string: 'Customer Rank', default: 0 },
      supplier_rank: { type: 'integer', string: 'Supplier Rank', default: 0 },
    },
  },
  {
    // The sandbox's users (login and password from its options), for `context_get` and look-ups by login.
    name: 'res.users',
    description: 'User',
    order: 'name, login',
    readOnly: true,
    fields: {
      name: char('Name'),
      login: char('Login'),
      active: { type: 'boolean', string: 'Active', default: true },
      lang: char('Language', { default: 'en_US' }),
      tz: char('Timezone'),
    },
  },
  {
    name: 'res.currency',
    description: 'Currency',
    order: 'active desc, name',
    readOnly: true,
    fields: {
      name: char('Currency'),
      symbol: char('Symbol'),
      rounding: { type: 'float', string: 'Rounding Factor' },
      decimal_places: { type: 'integer', string: 'Decimal Places' },
      active: { type: 'boolean', string: 'Active' },
    },
  },
  {
    name: 'account.journal',
    description: 'Journal',
    order: 'sequence, type, code',
    readOnly: true,
    fields: {
      name: char('Journal Name'),
      code: char('Short Code'),
      type: selection('Type', ['sale', 'purchase', 'cash', 'bank', 'general']),
      sequence: { type: 'integer', string: 'Sequence' },
      active: { type: 'boolean', string: 'Active' },
      currency_id: m2o('Currency', 'res.currency'),
    },
  },
  {
    name: 'account.move',
    description: 'Journal Entry',
    order: 'date desc, name desc, id desc',
    fields: {
      name: char('Number', computed),
      move_type: selection('Type', MOVE_TYPES, { default: 'entry' }),
      state: selection('Status', ['draft', 'posted', 'cancel'], computed),
      partner_id: m2o('Partner', 'res.partner'),
      ref: char('Reference'),
      narration: { type: 'text', string: 'Terms and Conditions' },
      invoice_origin: char('Origin'),
      payment_reference: char('Payment Reference'),
      invoice_date: { type: 'date', string: 'Invoice/Bill Date' },
      invoice_date_due: { type: 'date', string: 'Due Date' },
      date: { type: 'date', string: 'Date' },
      journal_id: m2o('Journal', 'account.journal'),
      currency_id: m2o('Currency', 'res.currency'),
      invoice_line_ids: { type: 'one2many', string: 'Invoice lines', relation: 'account.move.line', inverse: 'move_id' },
      line_ids: { type: 'one2many', string: 'Journal Items', relation: 'account.move.line', inverse: 'move_id' },
      amount_untaxed: money('Untaxed Amount', computed),
      amount_tax: money('Tax', computed),
      amount_total: money('Total', computed),
      amount_residual: money('Amount Due', computed),
      payment_state: selection('Payment Status', PAYMENT_STATES, computed),
      reversed_entry_id: m2o('Reversal of', 'account.move'),
      reversal_move_id: { type: 'one2many', string: 'Reversal Move', relation: 'account.move', inverse: 'reversed_entry_id' },
      payment_id: m2o('Payment', 'account.payment', computed),
    },
  },
  {
    name: 'account.move.line',
    description: 'Journal Item',
    order: 'date desc, move_name desc, id',
    readOnly: true,
    fields: {
      move_id: m2o('Journal Entry', 'account.move', { required: true }),
      move_name: char('Number', computed),
      parent_state: selection('Status', ['draft', 'posted', 'cancel'], computed),
      date: { type: 'date', string: 'Date', computed: true },
      partner_id: m2o('Partner', 'res.partner', computed),
      currency_id: m2o('Currency', 'res.currency', computed),
      display_type: selection('Display Type', ['product', 'line_section', 'line_note'], { default: 'product' }),
      sequence: { type: 'integer', string: 'Sequence', default: 10 },
      name: char('Label'),
      quantity: { type: 'float', string: 'Quantity', default: 1 },
      price_unit: { type: 'float', string: 'Unit Price', default: 0 },
      discount: { type: 'float', string: 'Discount (%)', default: 0 },
      price_subtotal: money('Subtotal', computed),
      price_total: money('Total', computed),
      tax_ids: { type: 'many2many', string: 'Taxes', relation: 'account.tax' },
    },
  },
  {
    name: 'account.payment',
    description: 'Payments',
    order: 'date desc, name desc',
    readOnly: true,
    fields: {
      name: char('Number'),
      amount: money('Amount'),
      payment_type: selection('Payment Type', ['outbound', 'inbound']),
      partner_type: selection('Partner Type', ['customer', 'supplier']),
      partner_id: m2o('Customer/Vendor', 'res.partner'),
      ref: char('Memo'),
      /** Odoo 18's name for `ref`; served too so either client generation reads it. */
      memo: char('Memo'),
      date: { type: 'date', string: 'Date' },
      journal_id: m2o('Journal', 'account.journal'),
      currency_id: m2o('Currency', 'res.currency'),
      state: selection('Status', ['draft', 'posted', 'cancel']),
      move_id: m2o('Journal Entry', 'account.move'),
      reconciled_invoice_ids: { type: 'many2many', string: 'Reconciled Invoices', relation: 'account.move', computed: true },
      reconciled_invoices_count: { type: 'integer', string: '# Reconciled Invoices', computed: true },
      is_reconciled: { type: 'boolean', string: 'Is Reconciled', computed: true },
      is_matched: { type: 'boolean', string: 'Is Matched With a Bank Statement', computed: true },
    },
  },
  {
    name: 'account.payment.register',
    description: 'Register Payment',
    order: 'id',
    fields: {
      payment_date: { type: 'date', string: 'Payment Date' },
      amount: money('Amount'),
      communication: char('Memo'),
      group_payment: { type: 'boolean', string: 'Group Payments', default: false },
      currency_id: m2o('Currency', 'res.currency'),
      journal_id: m2o('Journal', 'account.journal'),
      partner_id: m2o('Customer/Vendor', 'res.partner', computed),
      payment_type: selection('Payment Type', ['outbound', 'inbound'], computed),
      partner_type: selection('Partner Type', ['customer', 'supplier'], computed),
      source_amount: money('Amount to Pay (company currency)', computed),
      payment_difference: money('Payment Difference', computed),
      payment_difference_handling: selection('Payment Difference Handling', ['open', 'reconcile'], { default: 'open' }),
      writeoff_label: char('Journal Item Label', { default: 'Write-Off' }),
      line_ids: { type: 'many2many', string: 'Journal items', relation: 'account.move.line', computed: true },
    },
  },
  {
    name: 'account.move.reversal',
    description: 'Account Move Reversal',
    order: 'id',
    fields: {
      move_ids: { type: 'many2many', string: 'Move', relation: 'account.move' },
      new_move_ids: { type: 'many2many', string: 'New Move', relation: 'account.move', computed: true },
      date: { type: 'date', string: 'Reversal date' },
      reason: char('Reason displayed on Credit Note'),
      journal_id: m2o('Journal', 'account.journal'),
      /** Odoo ≤ 16 (used by `reverse_moves` there): refund = draft, cancel = posted and reconciled, modify = cancel + new draft. */
      refund_method: selection('Credit Method', ['refund', 'cancel', 'modify']),
      residual: money('Residual', computed),
      move_type: char('Move Type', computed),
    },
  },
];

for (const model of MODELS) model.fields = { ...MAGIC, ...model.fields };

export const MODEL_DEFS: ReadonlyMap<string, ModelDef> = new Map(MODELS.map((model) => [model.name, model]));

/** Fields that are stored (what create/write may set), in declaration order. */
export const writableFields = (model: ModelDef): string[] =>
  Object.entries(model.fields)
    .filter(([, field]) => !field.computed)
    .map(([name]) => name);
