// Every role the app's user-assigned identity holds, each scoped to the one resource it is for.
param principalId string
param storageAccountName string
param serviceBusNamespaceName string
param keyVaultName string
param applicationInsightsName string

// Built-in role definition ids (stable across tenants).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// Blob Data Owner: the host's AzureWebJobsStorage (timer leases, host keys) and the Flex
// deployment container; Table Data Contributor: the app's tables (TABLES_CONNECTION__*), which it
// also creates at start-up. Shared keys are off (storage.bicep), so these roles are the only way in.
var storageRoles = [
  roles.storageBlobDataOwner
  roles.storageTableDataContributor
]
// Receiver: the queue triggers (receive, complete, dead-letter, renew locks) and the admin's browse
// and replay, which receive from the dead-letter sub-queues; Sender: jobs, their retries (scheduled
// copies) and replays. Not Data Owner: the app never manages entities (service-bus.bicep declares them).
var serviceBusRoles = [
  roles.serviceBusDataSender
  roles.serviceBusDataReceiver
]
var keyVaultRoles = [
  roles.keyVaultSecretsUser
]
var appInsightsRoles = [
  roles.monitoringMetricsPublisher
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource serviceBus 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource storageAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in storageRoles: {
  name: guid(storage.id, principalId, roleId)
  scope: storage
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}]

resource serviceBusAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in serviceBusRoles: {
  name: guid(serviceBus.id, principalId, roleId)
  scope: serviceBus
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}]

resource keyVaultAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in keyVaultRoles: {
  name: guid(vault.id, principalId, roleId)
  scope: vault
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}]

resource appInsightsAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [for roleId in appInsightsRoles: {
  name: guid(appInsights.id, principalId, roleId)
  scope: appInsights
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
  }
}]
