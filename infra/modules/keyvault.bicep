// Key Vault for the app's secrets. RBAC authorization (no access policies), soft delete and purge
// protection. Secret values come in through one @secure() object and never leave this module: the
// outputs are the vault's name, id and URI only; the app reads secrets through Key Vault references.

param name string
param location string
param tags object = {}

@description('Secrets to store: secret name -> value. Names must match the Key Vault references in main.bicep.')
@secure()
param secrets object

@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

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
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // Key Vault references from an app without VNet integration arrive over the public endpoint.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource vaultSecrets 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for secret in items(secrets): {
    parent: vault
    name: secret.key
    properties: {
      value: secret.value
      contentType: 'text/plain'
      attributes: {
        enabled: true
      }
    }
  }
]

output name string = vault.name
output id string = vault.id
@description('Vault URI with a trailing slash, e.g. https://kv-x.vault.azure.net/')
output uri string = vault.properties.vaultUri
