// sentry-ado: Sentry <-> Azure DevOps sync on Azure Functions (Flex Consumption, Python).
//
// Layout: one resource group; raw-resource modules under modules/ (no registry modules, so checkov
// and the pycep tests in tests/infra/ can see every property).
//   identity   -> user-assigned identity the app runs as
//   monitoring -> Log Analytics + Application Insights (Entra-only ingestion)
//   storage    -> host storage, deployment container, queues, link table (no shared keys)
//   keyVault   -> the app's secrets (RBAC, soft delete, purge protection)
//   rbac       -> data-plane roles for the identity; the app waits for it so the first start works
//   functionApp-> FC1 plan + site; every app setting the code reads is in `appSettings` below
//
// Secrets enter only through @secure() parameters, are written to Key Vault and reach the app as
// Key Vault references. No secret is a default value or an output.

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used for the resource group name, the resource token and tags.')
param environmentName string

@minLength(1)
@description('Azure region for all resources.')
param location string

@description('Resource group name; empty means rg-<environmentName>.')
param resourceGroupName string = ''

// ---- Sentry ------------------------------------------------------------------------------------
@description('Sentry base URL (https://sentry.io, a regional URL, or a self-hosted instance).')
param sentryBaseUrl string = 'https://sentry.io'

@minLength(1)
@description('Sentry organization slug.')
param sentryOrg string

@description('Sentry integration installation UUID; empty if not yet installed.')
param sentryInstallationUuid string = ''

@secure()
@description('Sentry API token (internal integration token or auth token).')
param sentryToken string

@secure()
@description('Sentry integration client secret; signs the webhooks Sentry sends.')
param sentryClientSecret string

@secure()
@description('DSN of the Sentry project where the bridge reports its own errors; empty turns that off. Stored in Key Vault when set.')
param sentryDsn string

@description('Share of invocations traced to that Sentry project (0 to 1); 0 sends errors only.')
param sentryTracesSampleRate string = '0'

// ---- Azure DevOps ------------------------------------------------------------------------------
@minLength(1)
@description('Azure DevOps organization URL, e.g. https://dev.azure.com/contoso')
param adoOrgUrl string

@allowed([
  'pat'
  'service-principal'
  'managed-identity'
])
@description('How the app authenticates to Azure DevOps. managed-identity uses the app identity (add it as an ADO user).')
param adoAuth string = 'managed-identity'

@secure()
@description('Azure DevOps PAT; used (and stored) only when adoAuth is pat.')
param adoPat string

@description('Tenant of the Azure DevOps service principal (adoAuth = service-principal).')
param adoTenantId string = tenant().tenantId

@description('Client id of the Azure DevOps service principal (adoAuth = service-principal).')
param adoClientId string = ''

@secure()
@description('Client secret of the Azure DevOps service principal; used (and stored) only when adoAuth is service-principal.')
param adoClientSecret string

@secure()
@description('Shared secret Azure DevOps service hooks send (basic auth / header) to the webhook.')
param adoHookSecret string

// ---- Sync behaviour ----------------------------------------------------------------------------
@description('NCRONTAB (6 fields, UTC) for the reconcile timer, read by the host as %RECONCILE_SCHEDULE%.')
param reconcileSchedule string = '0 */15 * * * *'

@description('Path of the sync rules TOML inside the deployed package; empty uses the built-in rules.')
param syncConfigPath string = 'sync.toml'

@minValue(1024)
param webhookMaxBytes int = 1048576

@minValue(1)
param webhookMaxAgeSeconds int = 300

// ---- Scale -------------------------------------------------------------------------------------
@minValue(1)
@maxValue(20)
@description('Always-ready instances for the HTTP function group (webhooks never meet a cold start).')
param httpAlwaysReadyInstances int = 1

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Zone-redundant Flex plan (only in regions that support it; doubles always-ready instances).')
param zoneRedundant bool = false

// ---- Names -------------------------------------------------------------------------------------
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
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
    deploymentContainerName: deploymentContainerName
    queueNames: [
      'sentry-events'
      'ado-events'
    ]
    linkTableName: 'links'
  }
}

// Secret values for the vault (secret name -> @secure() parameter). Only the Azure DevOps credential
// of the chosen auth mode is stored; managed-identity needs none.
var coreSecrets = {
  'sentry-token': sentryToken
  'sentry-client-secret': sentryClientSecret
  'ado-hook-secret': adoHookSecret
}
var patSecrets = {
  'ado-pat': adoPat
}
var servicePrincipalSecrets = {
  'ado-client-secret': adoClientSecret
}
var adoSecrets = adoAuth == 'pat' ? patSecrets : (adoAuth == 'service-principal' ? servicePrincipalSecrets : {})
var sentryDsnSecrets = {
  'sentry-dsn': sentryDsn
}
var reportErrors = !empty(sentryDsn)
var reportingSecrets = reportErrors ? sentryDsnSecrets : {}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    secrets: union(coreSecrets, adoSecrets, reportingSecrets)
  }
}

module rbac 'modules/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

// Every app setting the code reads (shared/config.py) plus those the host and SDKs read.
// Secret values are Key Vault references resolved by the platform with keyVaultReferenceIdentity.
var appSettings = {
  // Host storage, identity-based (no connection string, no shared key).
  AzureWebJobsStorage__accountName: storage.outputs.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identity.outputs.clientId
  // DefaultAzureCredential in the app picks the user-assigned identity (storage, ADO managed-identity).
  AZURE_CLIENT_ID: identity.outputs.clientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.outputs.clientId};Authorization=AAD'
  SENTRY_BASE_URL: sentryBaseUrl
  SENTRY_ORG: sentryOrg
  SENTRY_INSTALLATION_UUID: sentryInstallationUuid
  SENTRY_TOKEN: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/sentry-token/)'
  SENTRY_CLIENT_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/sentry-client-secret/)'
  ADO_ORG_URL: adoOrgUrl
  ADO_AUTH: adoAuth
  ADO_PAT: adoAuth == 'pat' ? '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/ado-pat/)' : ''
  ADO_TENANT_ID: adoTenantId
  // With managed-identity auth the app's own user-assigned identity talks to ADO.
  ADO_CLIENT_ID: adoAuth == 'managed-identity' ? identity.outputs.clientId : adoClientId
  ADO_CLIENT_SECRET: adoAuth == 'service-principal' ? '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/ado-client-secret/)' : ''
  ADO_HOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/ado-hook-secret/)'
  LINK_STORE: 'table'
  SYNC_CONFIG_PATH: syncConfigPath
  RECONCILE_SCHEDULE: reconcileSchedule
  WEBHOOK_MAX_BYTES: string(webhookMaxBytes)
  WEBHOOK_MAX_AGE_S: string(webhookMaxAgeSeconds)
  // The bridge's own errors to Sentry (optional): the DSN is a Key Vault reference when given.
  SENTRY_DSN: reportErrors ? '@Microsoft.KeyVault(SecretUri=${keyVault.outputs.uri}secrets/sentry-dsn/)' : ''
  SENTRY_TRACES_SAMPLE_RATE: sentryTracesSampleRate
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    azdServiceName: 'api'
    identityId: identity.outputs.id
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appSettings: appSettings
    httpAlwaysReadyInstances: httpAlwaysReadyInstances
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    zoneRedundant: zoneRedundant
  }
  // Roles first: Key Vault references and identity-based host storage must resolve on first start.
  dependsOn: [
    rbac
  ]
}

// Names and endpoints only; never a secret.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_URI string = 'https://${functionApp.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_CLIENT_ID string = identity.outputs.clientId
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
