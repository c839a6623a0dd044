// The Service Bus extension registers, when required, the factory through which @azure/functions turns
// an SDK-binding delivery into `{ messages, actions }`. Requiring it loads gRPC, protobuf and an AMQP
// stack (~100 ms, more than the rest of a cold start's module graph), and only a queue delivery needs
// it: so the resolver @azure/functions asks is told to require the extension when the first delivery
// asks for its factory.
import { createRequire } from 'node:module';

/** The model binding source the Service Bus extension serves. */
const SERVICE_BUS_SOURCE = 'AzureServiceBusReceivedMessage';

/** The part of @azure/functions-extensions-base's singleton used here. */
interface ResourceFactoryResolver {
  hasResourceFactory(type: string): boolean;
  createClient(type: string, data: unknown): unknown;
}

/** Makes the first Service Bus delivery require the extension (which registers its factory) before its client is made. */
export function registerServiceBusExtensionOnDemand(): void {
  // Resolved from @azure/functions, so it is the copy whose singleton @azure/functions asks.
  const fromFunctions = createRequire(require.resolve('@azure/functions'));
  const base = fromFunctions('@azure/functions-extensions-base') as { ResourceFactoryResolver: { getInstance(): ResourceFactoryResolver } };
  const resolver = base.ResourceFactoryResolver.getInstance();
  const createClient = resolver.createClient;
  resolver.createClient = function (this: ResourceFactoryResolver, type, data) {
    // With require: the package's typings pull in its TypeScript sources, which do not compile under our strict settings.
    if (type === SERVICE_BUS_SOURCE && !this.hasResourceFactory(type)) require('@azure/functions-extensions-servicebus');
    return createClient.call(this, type, data);
  };
}
