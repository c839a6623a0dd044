// Type-only: the SDK is required when a client is made (see the composition root: on first use).
import type { ServiceBusClient, ServiceBusClientOptions } from '@azure/service-bus';
import type { ServiceBusSettings } from '../../config';
import { identityCredential } from '../identity/token-credential';

/**
 * The app's ServiceBusClient: from SERVICEBUS_CONNECTION, or from the namespace and a token
 * credential (SERVICEBUS_CONNECTION__fullyQualifiedNamespace, the same settings the queue trigger
 * reads). The SDK asks that credential for `https://servicebus.azure.net//.default`.
 */
export function createServiceBusClient(settings: ServiceBusSettings, options?: ServiceBusClientOptions): ServiceBusClient {
  const { ServiceBusClient } = require('@azure/service-bus') as typeof import('@azure/service-bus');
  if (settings.fullyQualifiedNamespace === undefined) return new ServiceBusClient(settings.connectionString, options);
  return new ServiceBusClient(settings.fullyQualifiedNamespace, identityCredential(settings.credential), options);
}

/** True when the settings point at a broker on this machine (health reports it as local). */
export function isLocalServiceBus(settings: ServiceBusSettings): boolean {
  if (settings.fullyQualifiedNamespace === undefined) return /UseDevelopmentEmulator=true/i.test(settings.connectionString);
  return /^(127\.|localhost(:|$))/i.test(settings.fullyQualifiedNamespace);
}
