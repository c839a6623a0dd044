// Alert rules (infra/README.md, "Alerts"). Log alerts query the Application Insights resource (classic
// table names: customEvents, customMetrics, exceptions) for exactly the names the app emits: the registry
// in shared/platform/telemetry.ts (TELEMETRY_EVENTS, TELEMETRY_METRICS, EXCEPTION_DIMENSIONS), and function
// names from the function table. tests/unit/telemetry-names.test.ts reads every query below and fails on a
// name or dimension the app does not emit, or on a fuzzy match (contains, has, startswith) on a name.
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
    description: 'More than 5 % of the calls of one webhook provider (stripe, btcpay, driver-app) failed in 15 minutes, with at least 5 calls: refused (HTTP 4xx, e.g. a signature that does not verify) or failed (HTTP 5xx, the function threw).'
    severity: 2
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // One WebhookCall event per call, the refused ones included (shared/platform/telemetry.ts, withInvocationTelemetry).
    query: '''
customEvents
| where name == "WebhookCall"
| summarize total = count(), failed = countif(tostring(customDimensions.outcome) in ("rejected", "failed")) by provider = tostring(customDimensions.provider)
| where total >= 5 and 100.0 * failed / total > 5
'''
  }
  {
    name: 'odoo-sync-failures'
    displayName: 'Odoo sync failed'
    description: 'An Odoo sync job was dead-lettered (permanent error or attempts exhausted), or the jobs-odoo-sync queue function failed outside a job (it threw, or dead-lettered a message that is no job or of no known type). Transient failures that are retried do not fire.'
    severity: 2
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // JobDeadLettered: shared/platform/consume-job.ts; the exceptions: shared/platform/invoke-queue-function.ts.
    query: '''
union isfuzzy=true
  (customEvents
   | where name == "JobDeadLettered" and tostring(customDimensions.queue) == "odoo-sync"),
  (exceptions
   | where tostring(customDimensions.function) == "jobs-odoo-sync")
'''
  }
  {
    name: 'odoo-sync-latency'
    displayName: 'Odoo sync slower than 30 minutes'
    description: 'A change reached the books in Odoo (invoice posted, payment registered, credit note posted, refund paid out) more than 30 minutes after the change that queued its sync, in the last hour. Retries take minutes; this means Odoo was down for long, jobs waited in the queue, or a dead letter was replayed (which counts from the original change).'
    severity: 3
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    // OdooSyncLatencyMs: shared/platform/reconcile-billable.ts (erpSyncHandler). A customMetrics row
    // aggregates one export interval: valueMax is the slowest sync in it.
    query: '''
customMetrics
| where name == "OdooSyncLatencyMs"
| summarize slowestMs = max(valueMax) by jobType = tostring(customDimensions.jobType), milestone = tostring(customDimensions.milestone)
| where slowestMs > 1800000
'''
  }
  {
    name: 'stripe-payment-failures'
    displayName: 'Stripe payment failed'
    description: 'A Stripe payment (a booking, a finding charge or an order payment) failed: the app tracks the custom event PaymentFailed with the decline code; one row per code.'
    severity: 3
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    // PaymentFailed: slices/*/app/handle-stripe-event.ts.
    query: '''
customEvents
| where name == "PaymentFailed"
| summarize failed = count() by code = tostring(customDimensions.code)
'''
  }
  {
    name: 'btcpay-webhook-server-errors'
    displayName: 'BTCPay webhook failing (5xx)'
    description: 'More than 5 % of BTCPay webhook calls (/api/v1/webhooks/btcpay) ended in a server error (HTTP 5xx, the function threw) in 15 minutes, at least 2 of them: the hub could not ask BTCPay about the invoice, or failed itself. BTCPay retries a failed delivery only for about an hour; the payments-reconcile timer catches up later. Bad signatures (401) are left to the webhook failure rate.'
    severity: 2
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    query: '''
customEvents
| where name == "WebhookCall" and tostring(customDimensions.provider) == "btcpay"
| summarize total = count(), failed = countif(tostring(customDimensions.outcome) == "failed")
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
    // customEvents and customMetrics may not exist yet when the rule is created.
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
