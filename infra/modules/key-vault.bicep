// Key Vault (RBAC mode) holding every secret the app reads. Secrets given as empty parameters are
// not created, and their app settings are left out (the app treats them as "not configured").
// Service Bus and storage are not here: the app reaches them with its identity, without keys.
param name string
param location string
param tags object

@secure()
param stripeSecretKey string
@secure()
param stripeWebhookSecret string
@secure()
param odooPassword string
@secure()
param driverAppSecret string
@secure()
param apiKeys string
@secure()
param smtpUrl string
@secure()
param btcpayApiKey string
@secure()
param btcpayWebhookSecret string
@secure()
param woocommerceConsumerKey string
@secure()
param woocommerceConsumerSecret string
@secure()
param woocommerceWebhookSecret string
@description('Channel name -> its Standard Webhooks secret(s) (<CHANNEL>_CALLBACK_SECRET).')
@secure()
param channelCallbackSecrets object

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
  }
}

// setting = the app-setting name the app reads, name = the Key Vault secret name.
var optionalSecrets = [
  {
    setting: 'STRIPE_SECRET_KEY'
    name: 'stripe-secret-key'
    value: stripeSecretKey
  }
  {
    setting: 'STRIPE_WEBHOOK_SECRET'
    name: 'stripe-webhook-secret'
    value: stripeWebhookSecret
  }
  {
    setting: 'ODOO_PASSWORD'
    name: 'odoo-password'
    value: odooPassword
  }
  {
    setting: 'DRIVER_APP_SECRET'
    name: 'driver-app-secret'
    value: driverAppSecret
  }
  {
    setting: 'API_KEYS'
    name: 'api-keys'
    value: apiKeys
  }
  {
    setting: 'SMTP_URL'
    name: 'smtp-url'
    value: smtpUrl
  }
  {
    setting: 'BTCPAY_API_KEY'
    name: 'btcpay-api-key'
    value: btcpayApiKey
  }
  {
    setting: 'BTCPAY_WEBHOOK_SECRET'
    name: 'btcpay-webhook-secret'
    value: btcpayWebhookSecret
  }
  {
    setting: 'WOOCOMMERCE_CONSUMER_KEY'
    name: 'woocommerce-consumer-key'
    value: woocommerceConsumerKey
  }
  {
    setting: 'WOOCOMMERCE_CONSUMER_SECRET'
    name: 'woocommerce-consumer-secret'
    value: woocommerceConsumerSecret
  }
  {
    setting: 'WOOCOMMERCE_WEBHOOK_SECRET'
    name: 'woocommerce-webhook-secret'
    value: woocommerceWebhookSecret
  }
]
// One secret per channel: the setting is named as the app derives it (callbackVariable in
// slices/orders/config.ts: upper case, '-' -> '_'); secret names allow only letters, digits and '-',
// so the vault name is the channel name with '_' -> '-': woocommerce -> WOOCOMMERCE_CALLBACK_SECRET
// in woocommerce-callback-secret.
var channelSecrets = map(items(channelCallbackSecrets), entry => {
  setting: '${toUpper(replace(entry.key, '-', '_'))}_CALLBACK_SECRET'
  name: '${toLower(replace(entry.key, '_', '-'))}-callback-secret'
  value: entry.value
})
var presentSecrets = filter(concat(optionalSecrets, channelSecrets), secret => !empty(secret.value))

resource optional 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in presentSecrets: {
  parent: vault
  name: secret.name
  properties: {
    value: secret.value
  }
}]

// Versionless references: a rotated secret is picked up when the app's references refresh.
var optionalSettings = toObject(presentSecrets, secret => secret.setting, secret => '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${secret.name})')

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
@description('App settings (name -> Key Vault reference); references only, no secret values.')
output appSettings object = optionalSettings
