import * as z from 'zod';
import { emailSchema, orderAddressSchema } from './order';

/** How many of a customer's orders the customer record lists (the newest). */
export const CUSTOMER_ORDER_LIMIT = 500;

/**
 * One customer per normalised e-mail address, keyed by the same reference the ERP partner carries
 * (`cust:<hash>`): created by the first order that names the address, its details brought up to
 * date by later ones, with the orders it placed.
 */
export const customerSchema = z.object({
  id: z.string().min(1).max(100),
  email: emailSchema,
  name: z.string().max(200),
  phone: z.string().max(40).optional(),
  address: orderAddressSchema.optional(),
  orders: z.array(z.object({ id: z.string(), createdAt: z.iso.datetime({ offset: true }) })),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  version: z.number().int().min(1),
});
export type Customer = z.infer<typeof customerSchema>;

/** What an order says about its customer. */
export interface CustomerDetails {
  email: string;
  name: string;
  phone?: string;
  address?: Customer['address'];
}

/** A new customer for an order's details. */
export function newCustomer(id: string, details: CustomerDetails, order: { id: string; createdAt: string }): Customer {
  return { id, ...details, orders: [order], createdAt: order.createdAt, updatedAt: order.createdAt, version: 1 };
}

/** The customer with the order listed (once) and the details the order brings; undefined when nothing changes. */
export function rememberOrder(customer: Customer, details: CustomerDetails, order: { id: string; createdAt: string }): Customer | undefined {
  const listed = customer.orders.some((candidate) => candidate.id === order.id);
  const sameDetails =
    customer.name === details.name && customer.phone === details.phone && JSON.stringify(customer.address ?? null) === JSON.stringify(details.address ?? null);
  if (listed && sameDetails) return undefined;
  const orders = listed ? customer.orders : [...customer.orders, order].slice(-CUSTOMER_ORDER_LIMIT);
  return { ...customer, name: details.name, phone: details.phone, address: details.address, orders, updatedAt: order.createdAt };
}
