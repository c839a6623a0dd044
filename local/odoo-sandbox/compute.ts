/** Derived fields of every model, in raw form (many2one = id | false, x2many = id[]). */
import type { Env } from './env';
import { isInvoice, isSettled, lineSubtotal, moveResidual, moveTotal, paymentState, roundIn, roundingOf } from './ledger';
import { MODEL_DEFS } from './models';
import type { Row } from './store';

const MOVE_TYPE_NAMES: Record<string, string> = {
  entry: 'Entry',
  out_invoice: 'Invoice',
  out_refund: 'Credit Note',
  in_invoice: 'Vendor Bill',
  in_refund: 'Vendor Credit Note',
  out_receipt: 'Sales Receipt',
  in_receipt: 'Purchase Receipt',
};

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** display_name as Odoo 17 computes it for these models. */
export function displayName(env: Env, model: string, row: Row): string {
  switch (model) {
    case 'res.partner': {
      const parent = typeof row.parent_id === 'number' ? env.store.get('res.partner', row.parent_id) : undefined;
      return parent && !row.is_company ? `${text(parent.name)}, ${text(row.name)}` : text(row.name);
    }
    case 'account.move':
      // Draft documents have no number yet: "Draft Invoice (* 12)".
      return row.name && row.name !== '/' ? text(row.name) : `Draft ${MOVE_TYPE_NAMES[String(row.move_type)] ?? 'Entry'} (* ${row.id})`;
    case 'account.move.line': {
      const move = typeof row.move_id === 'number' ? env.store.get('account.move', row.move_id) : undefined;
      return text(row.name) || text(move?.name);
    }
    case 'res.users':
    case 'res.currency':
    case 'account.journal':
    case 'account.payment':
      return text(row.name);
    default:
      return `${model},${row.id}`;
  }
}

/** The computed fields of one row. */
export function computeFields(env: Env, model: string, row: Row): Record<string, unknown> {
  const { store, settings } = env;
  const base = { display_name: displayName(env, model, row) };
  switch (model) {
    case 'account.move': {
      const total = moveTotal(store, row);
      return {
        ...base,
        invoice_line_ids: store.referencing('account.move.line', 'move_id', row.id),
        line_ids: store.referencing('account.move.line', 'move_id', row.id),
        reversal_move_id: store.referencing('account.move', 'reversed_entry_id', row.id),
        amount_untaxed: total,
        amount_tax: 0,
        amount_total: total,
        amount_residual: isInvoice(row.move_type) || typeof row.payment_id === 'number' ? moveResidual(store, row) : 0,
        payment_state: paymentState(store, settings, row),
      };
    }
    case 'account.move.line': {
      const move = typeof row.move_id === 'number' ? store.get('account.move', row.move_id) : undefined;
      const subtotal = lineSubtotal(store, row);
      return {
        ...base,
        move_name: move?.name ?? false,
        parent_state: move?.state ?? false,
        date: move?.date ?? false,
        partner_id: move?.partner_id ?? false,
        currency_id: move?.currency_id ?? false,
        price_subtotal: subtotal,
        price_total: subtotal,
      };
    }
    case 'account.payment': {
      const entry = typeof row.move_id === 'number' ? store.get('account.move', row.move_id) : undefined;
      const invoices = entry
        ? store
            .reconciledWith(entry.id)
            .map(({ moveId }) => moveId)
            .filter((id) => isInvoice(store.get('account.move', id)?.move_type))
        : [];
      return {
        ...base,
        reconciled_invoice_ids: [...new Set(invoices)],
        reconciled_invoices_count: new Set(invoices).size,
        is_reconciled: entry ? isSettled(store, entry) : false,
        is_matched: settings.paidState === 'paid',
      };
    }
    case 'account.payment.register': {
      const moveIds = (row._move_ids as number[] | undefined) ?? [];
      const moves = moveIds.map((id) => store.get('account.move', id)).filter((move): move is Row => move !== undefined);
      const source = moves.reduce((sum, move) => sum + moveResidual(store, move), 0);
      const first = moves[0];
      return {
        ...base,
        partner_id: first?.partner_id ?? false,
        payment_type: first?.move_type === 'out_refund' || first?.move_type === 'in_invoice' ? 'outbound' : 'inbound',
        partner_type: String(first?.move_type ?? '').startsWith('in_') ? 'supplier' : 'customer',
        source_amount: source,
        payment_difference: roundIn(source - Number(row.amount ?? 0), roundingOf(store, row.currency_id)),
        line_ids: moveIds.flatMap((id) => store.referencing('account.move.line', 'move_id', id)),
      };
    }
    case 'account.move.reversal': {
      const moveIds = (row.move_ids as number[] | undefined) ?? [];
      const moves = moveIds.map((id) => store.get('account.move', id)).filter((move): move is Row => move !== undefined);
      const only = moves.length === 1 ? moves[0] : undefined;
      return {
        ...base,
        new_move_ids: (row._new_move_ids as number[] | undefined) ?? [],
        residual: only ? moveResidual(store, only) : 0,
        move_type: only
          ? String(only.move_type)
          : moves.some((move) => ['out_invoice', 'in_invoice'].includes(String(move.move_type)))
            ? 'some_invoice'
            : false,
      };
    }
    default:
      return base;
  }
}

/** Stored plus computed values of a row (computed win). */
export function fullRow(env: Env, model: string, row: Row): Row {
  return { ...row, ...computeFields(env, model, row) };
}

export const modelDef = (model: string) => {
  const def = MODEL_DEFS.get(model);
  if (!def) throw new Error(`odoo-sandbox: unknown model ${model}`);
  return def;
};
