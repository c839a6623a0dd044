/**
 * The job queues, declared once: infra creates exactly these (with dead-lettering), the admin API
 * browses their dead letters, and job handlers register against these names only.
 */
export const QUEUES = {
  /** Reconciliation of bookings and orders with the ERP (Odoo). */
  odooSync: 'odoo-sync',
  /** Trips handed to the Driver-App. */
  driverDispatch: 'driver-dispatch',
  /** Customer e-mails. */
  notifications: 'notifications',
  /** Signed callbacks to the sales channels. */
  callbacks: 'callbacks',
} as const;

/** A queue name. */
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Every queue, in a stable order. */
export const QUEUE_NAMES: readonly QueueName[] = Object.values(QUEUES);
