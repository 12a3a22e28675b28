# The replaced project's shape, with hsmsign: a REST API whose GET /hello is protected by a
# Lambda authorizer, which now verifies hsmsign's asymmetric JWTs against the published JWKS (no
# shared HS256 secret in any function's environment); optionally the same route on an HTTP API
# with API Gateway's built-in JWT authorizer using hsmsign's OIDC discovery; and Route 53 health
# checks, with alarms, on hsmsign's own /healthz.
#
# It runs beside examples/production, whose outputs it takes as variables: the image (the ECR
# repository and the digest the signer runs), the JWKS parameter, the inventory table, the
# domain. Nothing here holds a secret.
#
#   rest.tf    REST API, GET /hello (mock integration) behind a TOKEN or REQUEST authorizer
#   http.tf    HTTP API, GET /hello behind a JWT authorizer (issuer + audience), optional
#   health.tf  Route 53 health checks of https://DOMAIN/healthz, alarms in us-east-1

module "authorizer" {
  source = "../../modules/authorizer"

  name         = "${var.name}-authorizer"
  image_uri    = "${var.ecr_repository_url}@${var.image_digest}"
  architecture = var.architecture

  issuer     = var.issuer
  audiences  = var.audiences
  algorithms = var.algorithms
  # With result caching, one cached Allow must cover every method of the stage (the cache is
  # keyed on the token, not on the method).
  wildcard_resource = var.authorizer_cache_seconds > 0

  jwks_parameter_name = var.jwks_parameter_name
  jwks_parameter_arn  = var.jwks_parameter_arn

  mtls = var.inventory_table_name == null ? null : {
    dynamodb_table_name = var.inventory_table_name
    require_cnf         = var.require_client_certificate
    cache_seconds       = 60
  }
  inventory_table_arn = var.inventory_table_arn
  kms_key_arns        = var.inventory_kms_key_arns

  routes = { "GET /hello" = var.hello_scopes }

  api_gateway_source_arns = {
    rest = "${aws_api_gateway_rest_api.hello.execution_arn}/authorizers/${aws_api_gateway_authorizer.hsmsign.id}"
  }

  log_retention_days = var.log_retention_days
  tags               = var.tags
}
