// Service Bus namespace (Standard: scheduled messages, dead-letter sub-queues) with the four job
// job queues (names as declared once in shared/platform/queues.ts).
param name string
param location string
param tags object

var queueNames = [
  'odoo-sync'
  'driver-dispatch'
  'notifications'
  'callbacks'
]

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    minimumTlsVersion: '1.2'
    // Entra ID only: the trigger and the app connect with the app's identity (SERVICEBUS_CONNECTION__*),
    // so no SAS key exists to leak.
    disableLocalAuth: true
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [for queueName in queueNames: {
  parent: namespace
  name: queueName
  properties: {
    // The app retries by scheduling a copy (JOB_MAX_ATTEMPTS, default 6) and dead-letters itself;
    // 10 deliveries is the broker's backstop for a worker that crashes mid-message.
    maxDeliveryCount: 10
    lockDuration: 'PT1M'
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P14D'
    requiresDuplicateDetection: false
    requiresSession: false
  }
}]

output id string = namespace.id
output name string = namespace.name
// serviceBusEndpoint is 'https://<name>.servicebus.windows.net:443/' (cloud-specific suffix).
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
output queueNames array = queueNames
