// Order Hub on Azure: `azd up` deploys this at subscription scope.
// Flex Consumption Function App (Node 22) running as a user-assigned identity, storage, Service Bus
// with the four job queues, Key Vault for secrets, Log Analytics + Application Insights, alerts.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds the resource names.')
param environmentName string

@minLength(1)
@description('Region for every resource; it must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

// Secrets: stored in Key Vault, handed to the app as Key Vault references. Empty = not configured.
@secure()
@description('STRIPE_SECRET_KEY (sk_live_… / sk_test_…). Stripe needs it together with stripeWebhookSecret.')
param stripeSecretKey string = ''
@secure()
@description('STRIPE_WEBHOOK_SECRET: the signing secret (whsec_…) of the endpoint /api/v1/webhooks/stripe.')
param stripeWebhookSecret string = ''
@secure()
@description('ODOO_PASSWORD: password or API key of odooUsername.')
param odooPassword string = ''
@secure()
@description('DRIVER_APP_SECRET: shared HMAC secret of the Driver-App (both directions).')
param driverAppSecret string = ''
@secure()
@description('API_KEYS: comma-separated name:role1|role2:sha256hex (hashes only).')
param apiKeys string = ''
@secure()
@description('SMTP_URL: smtp(s)://user:pass@host:port. Without it e-mail jobs wait in the notifications queue.')
param smtpUrl string = ''
@secure()
@description('BTCPAY_API_KEY: Greenfield API key of the store (canmodifyinvoices, cancreatenonapprovedpullpayments, canviewpullpayments). BTCPay needs all four of btcpayUrl, btcpayApiKey, btcpayStoreId, btcpayWebhookSecret.')
param btcpayApiKey string = ''
@secure()
@description('BTCPAY_WEBHOOK_SECRET: the secret of the store webhook that points at /api/v1/webhooks/btcpay.')
param btcpayWebhookSecret string = ''
@secure()
@description('WOOCOMMERCE_CONSUMER_KEY: the shop\'s REST API key (ck_…, Read/Write). The shop needs all four of woocommerceUrl, woocommerceConsumerKey, woocommerceConsumerSecret, woocommerceWebhookSecret.')
param woocommerceConsumerKey string = ''
@secure()
@description('WOOCOMMERCE_CONSUMER_SECRET: the secret of that key (cs_…).')
param woocommerceConsumerSecret string = ''
@secure()
@description('WOOCOMMERCE_WEBHOOK_SECRET: the secret of the shop\'s order webhooks that point at /api/v1/webhooks/woocommerce.')
param woocommerceWebhookSecret string = ''
@secure()
@description('<CHANNEL>_CALLBACK_SECRET per channel: channel name -> Standard Webhooks secret whsec_<base64> (several comma-separated while rotating, the first current), e.g. {"woocommerce": "whsec_..."}. Needed for every channel in channelCallbackUrls.')
param channelCallbackSecrets object = {}

// Plain settings. Empty = left out of the app settings.
@description('STRIPE_PUBLISHABLE_KEY (pk_…), handed to clients.')
param stripePublishableKey string = ''
@description('ODOO_URL: Odoo XML-RPC base URL, e.g. https://erp.example.com. Needs odooDb, odooUsername and odooPassword.')
param odooUrl string = ''
@description('ODOO_DB')
param odooDb string = ''
@description('ODOO_USERNAME')
param odooUsername string = ''
@description('DRIVER_APP_WEBHOOK_URL: where trips are POSTed. Needs driverAppSecret. Empty = manual jockey assignment.')
param driverAppWebhookUrl string = ''
@description('MAIL_FROM, e.g. "Order Hub <noreply@example.com>". Empty = the app default.')
param mailFrom string = ''
@description('BTCPAY_URL: BTCPay Server base URL, e.g. https://btcpay.example.com. Needs btcpayApiKey, btcpayStoreId and btcpayWebhookSecret.')
param btcpayUrl string = ''
@description('BTCPAY_STORE_ID: the store the API key belongs to.')
param btcpayStoreId string = ''
@description('BTCPAY_INVOICE_EXPIRY_MINUTES: how long a customer has to pay an invoice. Empty = the app default (15).')
param btcpayInvoiceExpiryMinutes string = ''
@description('WOOCOMMERCE_URL: the WooCommerce shop, e.g. https://shop.example.com; the woocommerce channel is then told through its REST API (no WOOCOMMERCE_CALLBACK_URL). Needs the consumer key and secret and the webhook secret.')
param woocommerceUrl string = ''

// Sales channels and their callbacks.
@description('CHANNELS: comma-separated sales channels that may create orders (lower-case names, e.g. woocommerce,pos,b2b). Empty = no channel.')
param channels string = ''
@description('ORDER_CURRENCIES: comma-separated ISO 4217 codes orders may be in. Empty = the app default (EUR).')
param orderCurrencies string = ''
@description('<CHANNEL>_CALLBACK_URL per channel: channel name -> https URL of its callbacks, e.g. {"woocommerce": "https://shop.example.com/hub-callback"}. A channel without a URL gets no callbacks.')
param channelCallbackUrls object = {}
@description('CALLBACK_TIMEOUT_MS: how long a channel gets to answer a callback. Empty = the app default (15000).')
param callbackTimeoutMs string = ''
@description('CALLBACK_RETRY_SCHEDULE: delays between callback attempts, e.g. 5s,5m,30m,2h,5h,10h,10h. Empty = the app default (Standard Webhooks).')
param callbackRetrySchedule string = ''

// The payments-reconcile timer. Empty = the app defaults (5m, 10m, 7d).
@description('PAYMENT_RECONCILE_EVERY: how often the timer runs (must divide a minute, an hour or a day, e.g. 5m).')
param paymentReconcileEvery string = ''
@description('PAYMENT_RECONCILE_AFTER: when a payment still waiting for its webhook is first asked about (then after twice, four times as long ...).')
param paymentReconcileAfter string = ''
@description('PAYMENT_RECONCILE_HORIZON: when a waiting payment is given up (longer than paymentReconcileAfter).')
param paymentReconcileHorizon string = ''

@description('CORS_ORIGINS: comma-separated origins of browser front ends that may call the API (e.g. https://book.example.com), or *. Given to the app and to the platform\'s CORS. Empty = none.')
param corsOrigins string = ''

@description('E-mail address for alert notifications. Empty = alerts show in the portal only.')
param alertEmail string = ''

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var functionAppName = 'func-orderhub-${resourceToken}'

// Plain app settings; function-app.bicep leaves out the empty ones. CALLBACK_ALLOW_PRIVATE is never
// set in Azure: it would allow plain-HTTP and private or loopback callback URLs (local runs only).
var appPlainSettings = {
  STRIPE_PUBLISHABLE_KEY: stripePublishableKey
  ODOO_URL: odooUrl
  ODOO_DB: odooDb
  ODOO_USERNAME: odooUsername
  DRIVER_APP_WEBHOOK_URL: driverAppWebhookUrl
  MAIL_FROM: mailFrom
  BTCPAY_URL: btcpayUrl
  BTCPAY_STORE_ID: btcpayStoreId
  BTCPAY_INVOICE_EXPIRY_MINUTES: btcpayInvoiceExpiryMinutes
  WOOCOMMERCE_URL: woocommerceUrl
  CHANNELS: channels
  ORDER_CURRENCIES: orderCurrencies
  CALLBACK_TIMEOUT_MS: callbackTimeoutMs
  CALLBACK_RETRY_SCHEDULE: callbackRetrySchedule
  PAYMENT_RECONCILE_EVERY: paymentReconcileEvery
  PAYMENT_RECONCILE_AFTER: paymentReconcileAfter
  PAYMENT_RECONCILE_HORIZON: paymentReconcileHorizon
  CORS_ORIGINS: corsOrigins
}
// <CHANNEL>_CALLBACK_URL, named as the app derives it (callbackVariable in slices/orders/config.ts):
// woocommerce -> WOOCOMMERCE_CALLBACK_URL, b2b-eu -> B2B_EU_CALLBACK_URL. The secrets are named the
// same way in key-vault.bicep.
var channelCallbackUrlSettings = toObject(items(channelCallbackUrls), entry => '${toUpper(replace(entry.key, '-', '_'))}_CALLBACK_URL', entry => entry.value)

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-orderhub-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: 'app-package-${resourceToken}'
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  scope: rg
  params: {
    name: 'sb-orderhub-${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  scope: rg
  params: {
    name: 'kv${resourceToken}'
    location: location
    tags: tags
    stripeSecretKey: stripeSecretKey
    stripeWebhookSecret: stripeWebhookSecret
    odooPassword: odooPassword
    driverAppSecret: driverAppSecret
    apiKeys: apiKeys
    smtpUrl: smtpUrl
    btcpayApiKey: btcpayApiKey
    btcpayWebhookSecret: btcpayWebhookSecret
    woocommerceConsumerKey: woocommerceConsumerKey
    woocommerceConsumerSecret: woocommerceConsumerSecret
    woocommerceWebhookSecret: woocommerceWebhookSecret
    channelCallbackSecrets: channelCallbackSecrets
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    serviceBusNamespaceName: serviceBus.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  scope: rg
  params: {
    planName: 'plan-orderhub-${resourceToken}'
    appName: functionAppName
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    serviceBusFullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
    tableServiceUri: storage.outputs.tableEndpoint
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultSettings: keyVault.outputs.appSettings
    plainSettings: union(appPlainSettings, channelCallbackUrlSettings)
    corsAllowedOrigins: filter(map(split(corsOrigins, ','), origin => trim(origin)), origin => !empty(origin))
  }
  // The identity must hold its roles before the app first resolves Key Vault references and
  // reads its deployment container.
  dependsOn: [
    roleAssignments
  ]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    namePrefix: 'orderhub-${resourceToken}'
    location: location
    tags: tags
    serviceBusNamespaceId: serviceBus.outputs.id
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    alertEmail: alertEmail
  }
}

// azd stores these in the environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output FUNCTION_APP_URL string = functionApp.outputs.url
output STRIPE_WEBHOOK_URL string = '${functionApp.outputs.url}/api/v1/webhooks/stripe'
output DRIVER_APP_WEBHOOK_ENDPOINT string = '${functionApp.outputs.url}/api/v1/webhooks/driver-app'
output BTCPAY_WEBHOOK_URL string = '${functionApp.outputs.url}/api/v1/webhooks/btcpay'
output WOOCOMMERCE_WEBHOOK_URL string = '${functionApp.outputs.url}/api/v1/webhooks/woocommerce'
output SERVICEBUS_NAMESPACE string = serviceBus.outputs.name
output SERVICEBUS_FULLY_QUALIFIED_NAMESPACE string = serviceBus.outputs.fullyQualifiedNamespace
output KEY_VAULT_NAME string = keyVault.outputs.name
output STORAGE_ACCOUNT_NAME string = storage.outputs.name
