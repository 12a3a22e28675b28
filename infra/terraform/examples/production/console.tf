# The web console on AWS (modules/console; docs/console.md, "AWS deployment"): the built console
# (console/build.sh -> console/dist) in a private S3 bucket behind CloudFront, sign-in with a
# Cognito user pool and identity pool, and CORS on the API for the console's origin. Phase 2 only,
# with enable_console. Then put output console_principal_pattern into var.policy (admins, or a
# rule's principals) for what console users may do, and create the users in the user pool.

variable "enable_console" {
  description = "Deploy the web console (phase 2): S3 + CloudFront + Cognito, and CORS on the API for its origin. Needs console_user_pool_domain_prefix and a built console in console_dist_dir."
  type        = bool
  default     = false
}

variable "console_dist_dir" {
  description = "Directory of the built console (console/build.sh writes console/dist), relative to this directory or absolute."
  type        = string
  default     = "../../../../console/dist"
}

variable "console_domain_name" {
  description = "Custom domain of the console, e.g. console.pki.example.com (TLS 1.2+ with an ACM certificate in us-east-1); null for the distribution's *.cloudfront.net name."
  type        = string
  default     = null
}

variable "console_certificate_arn" {
  description = "ACM certificate in us-east-1 for console_domain_name, or null to request one with DNS validation in route53_zone_id."
  type        = string
  default     = null
}

variable "console_user_pool_domain_prefix" {
  description = "Prefix of the console's Cognito hosted UI domain (PREFIX.auth.REGION.amazoncognito.com), e.g. \"example-pki-console\"."
  type        = string
  default     = null
}

variable "console_managed_policy_arns" {
  description = "Further managed IAM policies for the console role (besides execute-api:Invoke on this deployment's API)."
  type        = list(string)
  default     = []
}

locals {
  deploy_console = var.deploy_service && var.enable_console
  # Known before the distribution exists when a custom domain is set.
  console_origin = !local.deploy_console ? null : (
    var.console_domain_name != null ? "https://${var.console_domain_name}" : module.console[0].origin
  )
}

module "console" {
  source    = "../../modules/console"
  count     = local.deploy_console ? 1 : 0
  providers = { aws = aws, aws.us_east_1 = aws.us_east_1 }

  name                    = "${var.name}-console"
  api_base_url            = local.base_url
  api_region              = var.region
  api_execution_arns      = [module.api[0].execution_arn]
  dist_dir                = var.console_dist_dir
  domain_name             = var.console_domain_name
  certificate_arn         = var.console_certificate_arn
  route53_zone_id         = var.route53_zone_id
  user_pool_domain_prefix = var.console_user_pool_domain_prefix
  managed_policy_arns     = var.console_managed_policy_arns
  tags                    = var.tags
}

resource "terraform_data" "console_inputs" {
  count = local.deploy_console ? 1 : 0

  input = var.console_user_pool_domain_prefix

  lifecycle {
    precondition {
      condition     = var.console_user_pool_domain_prefix != null
      error_message = "enable_console = true needs console_user_pool_domain_prefix."
    }
  }
}

output "console_url" {
  description = "URL of the web console (phase 2, with enable_console), or null."
  value       = try(module.console[0].url, null)
}

output "console_role_arn" {
  description = "ARN of the IAM role every console user acts as, or null."
  value       = try(module.console[0].role_arn, null)
}

output "console_principal_pattern" {
  description = "The principal hsmsignd sees for console users (arn:aws:sts::ACCOUNT:assumed-role/ROLE/*), for var.policy's admins or a rule's principals; or null."
  value       = try(module.console[0].principal_pattern, null)
}

output "console_user_pool_id" {
  description = "Cognito user pool of the console (admin-create-user adds operators), or null."
  value       = try(module.console[0].user_pool_id, null)
}
