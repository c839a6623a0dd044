// Service Bus namespace (Standard: scheduled messages, dead-letter sub-queues) with the four job
// job queues (names as declared once in shared/platform/queues.ts).
param name string
param location string
param tags object

@description('SAS auth on the namespace. The app reads SERVICEBUS_CONNECTION as a SAS connection string today, so this must stay false until the app uses @azure/identity (infra/README.md, "Known gaps").')
param disableLocalAuth bool = false

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
    disableLocalAuth: disableLocalAuth
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

// The app's own clients (sender, dead-letter browsing/replay) need Listen + Send, not Manage:
// it never creates entities (queues are declared above).
resource appRule 'Microsoft.ServiceBus/namespaces/AuthorizationRules@2024-01-01' = {
  parent: namespace
  name: 'order-hub-app'
  properties: {
    rights: [
      'Listen'
      'Send'
    ]
  }
}

output id string = namespace.id
output name string = namespace.name
// serviceBusEndpoint is 'https://<name>.servicebus.windows.net:443/' (cloud-specific suffix).
output fullyQualifiedNamespace string = split(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':')[0]
output appRuleName string = appRule.name
output queueNames array = queueNames
