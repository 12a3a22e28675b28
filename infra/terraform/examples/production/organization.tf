# Callers from the whole AWS Organization (var.organization_id): hsmsignd's IAM routes on a REST
# API whose resource policy admits only the organization's principals (modules/org_api; why a
# REST API: HTTP APIs have no resource policy). And GET /healthz for Route 53 health checks
# (modules/health_check, examples/authorizer).

variable "organization_id" {
  description = "AWS Organization ID (o-...) whose principals may call the IAM routes from any of its accounts, through the REST API of module org_api; null for none (the HTTP API's IAM routes admit this account's principals only)."
  type        = string
  default     = null
}

variable "healthz_route" {
  description = "Publish GET /healthz on the main API (for Route 53 health checks of domain_name)."
  type        = bool
  default     = false
}

module "org_api" {
  source = "../../modules/org_api"
  count  = var.deploy_service && var.organization_id != null ? 1 : 0

  name                 = "${var.name}-org"
  organization_id      = var.organization_id
  lambda_function_name = module.signer.lambda_function_name
  lambda_invoke_arn    = module.signer.lambda_invoke_arn
  tags                 = var.tags
}

output "org_api_invoke_url" {
  description = "Base URL of the organization's IAM routes (SigV4, service execute-api), or null."
  value       = try(module.org_api[0].invoke_url, null)
}
