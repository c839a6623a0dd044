// Alert rules (infra/README.md). Log alerts query the Application Insights resource (classic table
// names: requests, traces, customEvents). The app writes JSON-line logs (shared/adapters/telemetry/log.ts)
// to stdout/stderr; the Functions host forwards them to `traces`, where `message` holds the line.
// The queries match words in `message` instead of parsing it, so a prefix the host may add does
// not break them (infra/README.md, "Alerts").
param namePrefix string
param location string
param tags object
param serviceBusNamespaceId string
param applicationInsightsId string

@description('E-mail address that receives the alerts; empty = rules fire in the portal only.')
param alertEmail string = ''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${namePrefix}-alerts'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'orderhub'
    enabled: true
    emailReceivers: [
      {
        name: 'operations'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupIds = empty(alertEmail) ? [] : [actionGroup.id]

// Any message in any dead-letter sub-queue. Stays fired until the admin replays or discards
// (GET /api/v1/admin/dead-letters), then resolves on its own.
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${namePrefix}-dead-letters'
  location: 'global'
  tags: tags
  properties: {
    description: 'Dead-lettered messages in a job queue (odoo-sync, driver-dispatch, notifications, callbacks).'
    severity: 2
    enabled: true
    scopes: [serviceBusNamespaceId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadletteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          // One time series per queue, so the alert names the queue.
          dimensions: [
            {
              name: 'EntityName'
              operator: 'Include'
              values: ['*']
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Average'
        }
      ]
    }
    actions: empty(alertEmail) ? [] : [{ actionGroupId: actionGroup.id }]
  }
}

var logAlerts = [
  {
    name: 'webhook-failure-rate'
    displayName: 'Webhook failure rate above 5 %'
    description: 'More than 5 % of Stripe / BTCPay / Driver-App webhook calls failed (function error or HTTP status >= 400, e.g. a signature that does not verify) in 15 minutes, with at least 5 calls.'
    severity: 2
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // Function names come from the function table: webhooks-stripe, webhooks-driver-app, ...
    query: '''
requests
| where name startswith "webhooks-" or url contains "/api/v1/webhooks/"
| summarize total = count(), failed = countif(success == false or toint(resultCode) >= 400) by name
| where total >= 5 and 100.0 * failed / total > 5
'''
  }
  {
    name: 'odoo-sync-failures'
    displayName: 'Odoo sync failed'
    description: 'An Odoo sync job was dead-lettered (permanent error or attempts exhausted), the odoo-sync queue function threw, or a sync-failed custom event was tracked. Transient failures that are retried do not fire.'
    severity: 2
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // consume-job.ts logs "job failed permanently; dead-lettered" / "job exhausted its attempts; dead-lettered"
    // with jobId "odoo:<bookingId>:v<n>"; invoke-queue-function.ts logs "queue function failed" with the function name.
    query: '''
union isfuzzy=true
  (traces
   | where message has "odoo"
   | where message contains "dead-lettered" or message contains "queue function failed"),
  (requests
   | where name == "jobs-odoo-sync" and success == false),
  (customEvents
   | where name contains "sync" and name contains "fail")
'''
  }
  {
    name: 'stripe-payment-failures'
    displayName: 'Stripe payment failed'
    description: 'A Stripe payment (booking or finding charge) failed: the app tracks the custom event PaymentFailed with the decline code.'
    severity: 3
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    query: '''
union isfuzzy=true
  (traces
   | where message contains "stripe payment failed" or message contains "payment_intent.payment_failed"),
  (customEvents
   | where name contains "payment" and name contains "fail")
'''
  }
  {
    name: 'btcpay-webhook-server-errors'
    displayName: 'BTCPay webhook failing (5xx)'
    description: 'More than 5 % of BTCPay webhook calls (/api/v1/webhooks/btcpay) ended in a server error (HTTP 5xx or a function error) in 15 minutes, at least 2 of them. BTCPay retries a failed delivery only for about an hour; the payments-reconcile timer catches up later. Bad signatures (401) are left to the webhook failure rate.'
    severity: 2
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // Two request records per call: the host's (name webhooks-btcpay) and the app's own
    // (name "POST /api/v1/webhooks/btcpay", shared/http/pipeline.ts); each is rated on its own.
    query: '''
requests
| where name == "webhooks-btcpay" or url contains "/api/v1/webhooks/btcpay"
| extend code = toint(resultCode)
| summarize total = count(), failed = countif(code >= 500 or (success == false and isnull(code))) by name
| where failed >= 2 and 100.0 * failed / total > 5
'''
  }
  {
    name: 'payments-reconciled'
    displayName: 'Payments updated by reconciliation instead of their webhook'
    description: 'The payments-reconcile timer moved at least 3 payments of one provider in an hour (custom event PaymentReconciled): their webhooks did not arrive. A few are normal; a rising count means webhooks are being lost (webhook missing or disabled in BTCPay / Stripe, wrong secret, endpoint failing).'
    severity: 3
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    // slices/orders/app/reconcile-payments.ts tracks PaymentReconciled with orderId, paymentId, provider.
    query: '''
customEvents
| where name == "PaymentReconciled"
| summarize reconciled = count() by provider = tostring(customDimensions.provider)
| where reconciled >= 3
'''
  }
]

resource queryAlerts 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [for alert in logAlerts: {
  name: '${namePrefix}-${alert.name}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: alert.displayName
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [applicationInsightsId]
    evaluationFrequency: alert.evaluationFrequency
    windowSize: alert.windowSize
    autoMitigate: true
    // customEvents / the message text may not exist yet when the rule is created.
    skipQueryValidation: true
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: actionGroupIds
    }
  }
}]
