// Flex Consumption plan + the Function App (Node 22, Linux), running as the user-assigned identity.
param planName string
param appName string
param location string
param tags object

param identityId string
param identityClientId string
param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string
param serviceBusFullyQualifiedNamespace string
@description('The storage account\'s table endpoint (https://<account>.table.core.windows.net/).')
param tableServiceUri string
param applicationInsightsConnectionString string

@description('Secrets as Key Vault references (from key-vault.bicep).')
param keyVaultSettings object

@description('Non-secret settings; empty values are left out, because the app validates them (e.g. ODOO_URL must be a URL when present).')
param plainSettings object

@description('Origins of browser front ends that may call the API (CORS_ORIGINS split); the platform answers their preflights. Empty = no cross-origin callers.')
param corsAllowedOrigins array = []

param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true // Linux
  }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: appName
  location: location
  // azd finds the deployment target of service `api` by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references resolve with this identity (there is no system-assigned one).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      // The platform's CORS, with the list the app reads from CORS_ORIGINS (which adds the headers only it can: exposed headers, a relaxed CORP). No credentials: callers send Authorization themselves.
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Flex Consumption sets the worker runtime and version from functionAppConfig.runtime, so
// FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION / WEBSITE_NODE_DEFAULT_VERSION are not set here.
var hostSettings = {
  // The host's own storage, identity-based (no key).
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
  // The host sends its telemetry with Entra ID as the identity (Monitoring Metrics Publisher).
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // Identity-based connections, no keys: the Service Bus trigger (connection SERVICEBUS_CONNECTION,
  // functions/register.ts) and the app's own clients (shared/config.ts) read the same settings, so
  // both use the user-assigned identity. There is no SERVICEBUS_CONNECTION / TABLES_CONNECTION
  // connection string: the app refuses to start with both forms of one connection.
  SERVICEBUS_CONNECTION__fullyQualifiedNamespace: serviceBusFullyQualifiedNamespace
  SERVICEBUS_CONNECTION__credential: 'managedidentity'
  SERVICEBUS_CONNECTION__clientId: identityClientId
  TABLES_CONNECTION__tableServiceUri: tableServiceUri
  TABLES_CONNECTION__credential: 'managedidentity'
  TABLES_CONNECTION__clientId: identityClientId
  // No AZURE_CLIENT_ID: the app names its identity per connection (__clientId); every setting here
  // is one the app or the host reads (tests/unit/infra.test.ts).
}

var presentPlainSettings = toObject(filter(items(plainSettings), entry => !empty(entry.value)), entry => entry.key, entry => entry.value)

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: union(hostSettings, presentPlainSettings, keyVaultSettings)
}

output name string = app.name
output defaultHostName string = app.properties.defaultHostName
output url string = 'https://${app.properties.defaultHostName}'
