# Fixture of tests/infra/terraform_test.sh: the new modules with test values, planned offline
# (no credentials, no AWS call: the provider skips every check that would reach AWS). The test
# copies this directory next to a copy of infra/terraform, hence the ../terraform sources.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.67" }
  }
}

variable "mtls" {
  description = "The authorizer module's mtls (the test also plans an invalid one)."
  type        = any
  default     = { dynamodb_table_name = "hsmsign-test-inventory", require_cnf = true }
}

variable "console_dist_dir" {
  description = "The console module's dist_dir (the test also plans one without index.html)."
  type        = string
  default     = "console-dist"
}

variable "console_api_base_url" {
  description = "The console module's api_base_url (the test also plans an invalid one)."
  type        = string
  default     = "https://pki.example.com"
}

provider "aws" {
  region                      = "eu-central-1"
  access_key                  = "AKIDEXAMPLE"
  secret_key                  = "not-a-secret"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

provider "aws" {
  alias                       = "us_east_1"
  region                      = "us-east-1"
  access_key                  = "AKIDEXAMPLE"
  secret_key                  = "not-a-secret"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

module "org" {
  source               = "../terraform/modules/org_api"
  name                 = "hsmsign-test-org"
  organization_id      = "o-abcdef1234"
  lambda_function_name = "hsmsign-test"
  lambda_invoke_arn    = "arn:aws:apigateway:eu-central-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-central-1:123456789012:function:hsmsign-test/invocations"
}

module "authz" {
  source                  = "../terraform/modules/authorizer"
  name                    = "hsmsign-test-authorizer"
  image_uri               = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/hsmsign-test@sha256:0000000000000000000000000000000000000000000000000000000000000000"
  issuer                  = "https://pki.example.com"
  audiences               = ["https://hello.example.com"]
  wildcard_resource       = true
  jwks_parameter_name     = "/hsmsign-test/jwks"
  jwks_parameter_arn      = "arn:aws:ssm:eu-central-1:123456789012:parameter/hsmsign-test/jwks"
  mtls                    = var.mtls
  inventory_table_arn     = "arn:aws:dynamodb:eu-central-1:123456789012:table/hsmsign-test-inventory"
  routes                  = { "GET /hello" = ["read"] }
  api_gateway_source_arns = { rest = "arn:aws:execute-api:eu-central-1:123456789012:abcdef1234/authorizers/xyz123" }
}

module "health" {
  source        = "../terraform/modules/health_check"
  providers     = { aws = aws, aws.us_east_1 = aws.us_east_1 }
  name          = "hsmsign-test"
  endpoints     = { main = "pki.example.com" }
  alarm_actions = ["arn:aws:sns:us-east-1:123456789012:hsmsign-test-health"]
}

# The console (modules/console) wired to the API's CORS as examples/production does: the API's
# console_origin comes from the console module, the console role's policy from the API.
module "console" {
  source                  = "../terraform/modules/console"
  providers               = { aws = aws, aws.us_east_1 = aws.us_east_1 }
  name                    = "hsmsign-test-console"
  api_base_url            = var.console_api_base_url
  api_execution_arns      = [module.api.execution_arn]
  dist_dir                = var.console_dist_dir
  domain_name             = "console.pki.example.com"
  route53_zone_id         = "Z0123456789ABCDEFGHIJ"
  user_pool_domain_prefix = "example-pki-console"
  managed_policy_arns     = ["arn:aws:iam::123456789012:policy/hsmsign-test-extra"]
}

module "api" {
  source               = "../terraform/modules/api"
  name                 = "hsmsign-test"
  lambda_function_name = "hsmsign-test"
  lambda_invoke_arn    = "arn:aws:apigateway:eu-central-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-central-1:123456789012:function:hsmsign-test/invocations"
  domain_name          = "pki.example.com"
  certificate_arn      = "arn:aws:acm:eu-central-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  console_origin       = module.console.origin
}

# The same API without a console: no CORS.
module "api_no_console" {
  source               = "../terraform/modules/api"
  name                 = "hsmsign-test-plain"
  lambda_function_name = "hsmsign-test"
  lambda_invoke_arn    = "arn:aws:apigateway:eu-central-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-central-1:123456789012:function:hsmsign-test/invocations"
}

# The console without a custom domain (the *.cloudfront.net name) and without an API to invoke.
module "console_default_domain" {
  source                  = "../terraform/modules/console"
  providers               = { aws = aws, aws.us_east_1 = aws.us_east_1 }
  name                    = "hsmsign-test-console2"
  api_base_url            = "https://pki.example.com"
  dist_dir                = "${path.module}/console-dist"
  user_pool_domain_prefix = "example-pki-console2"
}
