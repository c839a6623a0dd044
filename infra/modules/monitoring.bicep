// Log Analytics workspace + workspace-based Application Insights.
param logAnalyticsName string
param applicationInsightsName string
param location string
param tags object

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    // Local (instrumentation-key) auth stays on: the app's `applicationinsights` SDK is configured
    // from APPLICATIONINSIGHTS_CONNECTION_STRING only. The host itself uses Entra ID
    // (APPLICATIONINSIGHTS_AUTHENTICATION_STRING); turning this off is a hardening step (README).
    DisableLocalAuth: false
  }
}

output applicationInsightsId string = appInsights.id
output applicationInsightsName string = appInsights.name
output connectionString string = appInsights.properties.ConnectionString
output logAnalyticsId string = workspace.id
