# jwks: the public material hsmsignd needs at start, published as SSM String parameters (none of
# it is secret: the PIN is in Secrets Manager, the private keys never leave the HSMs):
#
#   PREFIX/config       hsmsignd's configuration (the Lambda runtime's; config-in-SSM, see
#                       infra/README.md for why)
#   PREFIX/config-ecs   optional, the Fargate service's configuration
#   PREFIX/jwks         jwks.json from the key ceremony (jwt.jwks_file)
#   PREFIX/truststore   truststore.pem from the key ceremony (ca.chain_file)
#   PREFIX/hsm-ca-cert  the cluster's customerCA.crt (CloudHSM client SDK trust anchor)
#
# The signer's entrypoint reads them with one GetParameters call into /tmp/hsmsign at every cold
# start; hsmsignd reads the files only at start. The output `revision` changes whenever any value
# changes: the signer puts it into its environment, so that an update of this module also starts
# fresh Lambda environments and a new Fargate deployment (the ceremony's "publish and restart").
#
# Tier: Standard holds 4 KB, Advanced 8 KB (and costs money); each parameter takes the smallest
# that fits. A JWK Set of 16 RSA-4096 keys does not fit: retire keys first.

locals {
  values = {
    config        = var.service_config_json
    jwks          = var.jwks_json
    truststore    = var.truststore_pem
    "hsm-ca-cert" = var.hsm_ca_cert_pem
  }
  descriptions = {
    config        = "hsmsignd configuration (no secrets; the PIN comes from Secrets Manager)"
    jwks          = "JWK Set of the token-signing keys (public), from the key ceremony"
    truststore    = "Issuing CA and root certificates (truststore.pem), from the key ceremony"
    "hsm-ca-cert" = "CloudHSM cluster trust anchor (customerCA.crt)"
  }
}

resource "aws_ssm_parameter" "this" {
  for_each = local.descriptions

  name        = "${var.parameter_prefix}/${each.key}"
  description = each.value
  type        = "String"
  data_type   = "text"
  tier        = length(local.values[each.key]) > 4096 ? "Advanced" : "Standard"
  value       = local.values[each.key]

  tags = var.tags
}

resource "aws_ssm_parameter" "container_config" {
  count = var.create_container_config ? 1 : 0

  name        = "${var.parameter_prefix}/config-ecs"
  description = "hsmsignd configuration for the Fargate service (no secrets)"
  type        = "String"
  data_type   = "text"
  tier        = length(var.container_config_json) > 4096 ? "Advanced" : "Standard"
  value       = var.container_config_json

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.container_config_json != null
      error_message = "create_container_config is true but container_config_json is null."
    }
  }
}
