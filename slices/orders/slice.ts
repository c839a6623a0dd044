import type { AggregateCodec } from '../../shared/adapters/table-storage/aggregate-store';
import type { TableStore } from '../../shared/adapters/table-storage/tables';
import type { AggregateState, AggregateStore } from '../../shared/platform/aggregate';
import { withAttentionReport } from '../../shared/platform/attention';
import type { Clock } from '../../shared/platform/clock';
import type { Erp } from '../../shared/platform/erp';
import type { Logger } from '../../shared/platform/log';
import type { InvoiceGateway } from '../../shared/platform/invoices';
import type { PaymentGateway } from '../../shared/platform/payments';
import { QUEUES } from '../../shared/platform/queues';
import type { DependencyTarget, Telemetry } from '../../shared/platform/telemetry';
import type { TimerFunctionDef } from '../../shared/function-table';
import type { SliceDefinition } from '../../shared/slice';
import { openPaymentColumns, TableOpenPayments } from './adapters/table-open-payments';
import { ORDER_INDEX_TABLE, TableOrderIndex } from './adapters/table-order-index';
import { attentionColumns, orderAttention } from './app/attention';
import { btcpayProvider } from './app/btcpay-provider';
import { withChannelCallbacks } from './app/channel-callbacks';
import { shopUpdates } from './app/shop-updates';
import { WooCommerceClient } from './adapters/woocommerce-client';
import { WooCommerceTransport } from './adapters/woocommerce-transport';
import { handleOrderStripeEvent } from './app/handle-stripe-event';
import type { PaymentProviders } from './app/ports';
import { type ReconcileDeps, reconcilePayments } from './app/reconcile-payments';
import { stripeProvider } from './app/stripe-provider';
import { orderSyncHandlers } from './app/sync-to-erp';
import { type OrdersConfig, WOOCOMMERCE_CHANNEL } from './config';
import { type Customer, customerSchema } from './domain/customer';
import { type Order, orderSchema } from './domain/order';
import { orderMachine } from './domain/status';
import { btcpayWebhookFunction } from './http/btcpay-webhook';
import { orderFunctions } from './http/orders';
import { paymentFunctions } from './http/payments';
import { woocommerceWebhookFunction } from './http/woocommerce-webhook';

/** The tables of the slice (the store adds the prefix). */
export const ORDERS_TABLE = 'Orders';
export const CUSTOMERS_TABLE = 'Customers';

/**
 * An order's state row: the order with its payments and refunds as JSON; its id, status and channel
 * as columns, and when its payments still waiting for the provider last changed (what the payment
 * reconciliation looks for).
 */
export const orderCodec: AggregateCodec<Order> = {
  rowKey: 'order',
  machine: orderMachine.name,
  schema: orderSchema,
  columns: (order) => ({
    orderId: order.id,
    status: order.status,
    source: order.source,
    externalId: order.externalId,
    ...attentionColumns(order),
    ...openPaymentColumns(order),
  }),
};

/** A customer's row. */
export const customerCodec: AggregateCodec<Customer> = {
  rowKey: 'customer',
  machine: 'customer',
  schema: customerSchema,
  columns: (customer) => ({ email: customer.email }),
};

/** What the orders slice is built from: its configuration and the platform's ports. */
export interface OrdersSliceDeps {
  config: OrdersConfig;
  clock: Clock;
  log: Logger;
  telemetry: Telemetry;
  /** Stripe; always there (it answers "unavailable" when not configured). */
  payments: PaymentGateway;
  /** Whether Stripe is configured (a provider orders may choose). */
  stripeConfigured: boolean;
  /** BTCPay Server, when configured (the other provider orders may choose). */
  invoices?: InvoiceGateway;
  /** The ERP, when configured; without it `order.sync` jobs wait in `odoo-sync`. */
  erp?: Erp;
  tables: TableStore;
  aggregateStore<T extends AggregateState>(table: string, codec: AggregateCodec<T>): AggregateStore<T>;
  timed<T extends object>(port: T, target: DependencyTarget): T;
}

/**
 * Orders: the hub for sales channels (web shop, POS, B2B): orders with their customers, payments
 * through pluggable providers (Stripe, BTCPay), refunds, versioned status machines with history, a
 * timer that asks the providers about payments whose webhooks never came.
 */
export const ordersSlice: SliceDefinition<OrdersSliceDeps> = {
  name: 'orders',
  aggregateTables: [ORDERS_TABLE, CUSTOMERS_TABLE],
  otherTables: [ORDER_INDEX_TABLE],
  build(deps) {
    const { config, clock, telemetry } = deps;
    const shop = config.woocommerce;
    // Every change of an order or its payments is called back to its channel (when it has a URL);
    // a WooCommerce shop is told in its own terms, through its own API.
    const reported = withAttentionReport(deps.aggregateStore(ORDERS_TABLE, orderCodec), {
      kind: 'order',
      reasonOf: (order) => order.attention?.reason,
      log: deps.log,
      telemetry,
    });
    const orders = withChannelCallbacks(reported, {
      hasEndpoint: (channel) => Object.hasOwn(config.channelCallbacks, channel) || (shop !== undefined && channel === WOOCOMMERCE_CHANNEL),
      eventsFor: (channel) => (shop && channel === WOOCOMMERCE_CHANNEL ? shopUpdates : undefined),
      clock,
    });
    const customers = deps.aggregateStore(CUSTOMERS_TABLE, customerCodec);
    const index = deps.timed(new TableOrderIndex(deps.tables.client(ORDER_INDEX_TABLE)), 'tables');
    const { invoices } = deps;
    const providers: PaymentProviders = {
      ...(deps.stripeConfigured ? { stripe: stripeProvider(deps.payments) } : {}),
      ...(invoices ? { btcpay: btcpayProvider(invoices) } : {}),
    };
    const payments = { orders, clock, index, providers };
    const queries = { orders, customers, index };
    const create = { orders, customers, index, clock, channels: config.orders.channels, currencies: config.orders.currencies };
    return {
      functions: [
        ...orderFunctions({ create, queries, payments }),
        ...paymentFunctions({ payments, queries }),
        ...(invoices ? [btcpayWebhookFunction({ orders, clock, invoices, telemetry })] : []),
        ...(shop ? [woocommerceWebhookFunction({ ...create, providers, webhookSecret: shop.webhookSecret })] : []),
        ...(deps.stripeConfigured || invoices
          ? [
              reconcileTimer(
                {
                  orders,
                  clock,
                  open: new TableOpenPayments(deps.tables.client(ORDERS_TABLE), orderCodec.rowKey),
                  ...(deps.stripeConfigured ? { stripe: deps.payments } : {}),
                  ...(invoices ? { invoices } : {}),
                  log: deps.log,
                  telemetry,
                },
                config.paymentReconciliation,
              ),
            ]
          : []),
      ],
      // A queue without a handler here keeps its jobs until a worker for them is configured.
      jobHandlers: deps.erp ? { [QUEUES.odooSync]: orderSyncHandlers({ orders, erp: deps.erp, clock, log: deps.log, telemetry }) } : {},
      paymentEvents: [{ metadataKey: 'orderId', handle: (event) => handleOrderStripeEvent({ orders, clock, telemetry }, event) }],
      attention: orderAttention({ orders, clock }),
      ...(shop
        ? {
            channelTransports: {
              [WOOCOMMERCE_CHANNEL]: {
                endpoint: { url: shop.url, secrets: [] },
                transport: deps.timed(new WooCommerceTransport(new WooCommerceClient(shop)), 'woocommerce'),
              },
            },
          }
        : {}),
    };
  },
};

/** The payment reconciliation timer (see `reconcilePayments`). */
function reconcileTimer(deps: ReconcileDeps, policy: OrdersConfig['paymentReconciliation']): TimerFunctionDef {
  return {
    kind: 'timer',
    name: 'payments-reconcile',
    schedule: policy.schedule,
    handler: async () => {
      await reconcilePayments(deps, policy);
    },
  };
}
