// Parameters for main.bicep. Values come from the environment (azd exports its environment's
// values; CI sets them as secret variables). Secrets have no literal here and no default in main.bicep.
using 'main.bicep'

param environmentName = readEnvironmentVariable('AZURE_ENV_NAME', 'sentry-ado-dev')
param location = readEnvironmentVariable('AZURE_LOCATION', 'westeurope')

param sentryBaseUrl = readEnvironmentVariable('SENTRY_BASE_URL', 'https://sentry.io')
param sentryOrg = readEnvironmentVariable('SENTRY_ORG')
param sentryInstallationUuid = readEnvironmentVariable('SENTRY_INSTALLATION_UUID', '')
param sentryToken = readEnvironmentVariable('SENTRY_TOKEN')
param sentryClientSecret = readEnvironmentVariable('SENTRY_CLIENT_SECRET')
// Optional: a DSN for the bridge's own errors (kept in Key Vault), and how much to trace.
param sentryDsn = readEnvironmentVariable('SENTRY_DSN', '')
param sentryTracesSampleRate = readEnvironmentVariable('SENTRY_TRACES_SAMPLE_RATE', '0')

param adoOrgUrl = readEnvironmentVariable('ADO_ORG_URL')
param adoAuth = readEnvironmentVariable('ADO_AUTH', 'managed-identity')
param adoClientId = readEnvironmentVariable('ADO_CLIENT_ID', '')
// Only the credential of the chosen ADO_AUTH mode is stored; the other may stay empty.
param adoPat = readEnvironmentVariable('ADO_PAT', '')
param adoClientSecret = readEnvironmentVariable('ADO_CLIENT_SECRET', '')
param adoHookSecret = readEnvironmentVariable('ADO_HOOK_SECRET')

param reconcileSchedule = readEnvironmentVariable('RECONCILE_SCHEDULE', '0 */15 * * * *')
param httpAlwaysReadyInstances = 1
