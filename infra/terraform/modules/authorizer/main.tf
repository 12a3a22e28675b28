# authorizer: hsmsign-authorizer (docs/authorizer.md) as a Lambda function from the signer's
# image (infra/docker/Dockerfile), for API Gateway REST (TOKEN/REQUEST) and HTTP API (payload
# 2.0) Lambda authorizers. It verifies hsmsign's JWTs against the JWKS the jwks module publishes
# in SSM (jwks.ssm_parameter: a rotation is picked up without a redeploy), and for mTLS APIs
# checks the client certificate's status in the inventory table (mtls.dynamodb_table) or at
# hsmsignd's status route (mtls.status_url).
#
# Start-up (infra/docker/entrypoint.sh): image command "hsmsign-authorizer" (the Lambda handler
# name) selects the program; the config travels in HSMSIGN_AUTHORIZER_CONFIG_JSON (no secret is
# in it), so the cold start makes no AWS call before the program's first /next. The program
# validates the config itself and reports a bad one to /runtime/init/error.
#
# No VPC: the function calls only SSM and DynamoDB (public endpoints) or hsmsignd's API, and
# holds no secret. No CloudHSM connection, no PIN (the entrypoint refuses both).
#
# IAM (iam.tf): logs of its own log group; ssm:GetParameter on exactly the JWKS parameter;
# optionally dynamodb:GetItem on the inventory table limited to certificate items
# (dynamodb:LeadingKeys not "meta#*"), or execute-api:Invoke on hsmsignd's status route only.
# API Gateway may invoke it only from the sources in var.api_gateway_source_arns.

data "aws_region" "current" {}

locals {
  region = data.aws_region.current.name

  mtls_dynamodb = var.mtls != null && try(var.mtls.dynamodb_table_name, null) != null
  mtls_status   = var.mtls != null && try(var.mtls.status_url, null) != null

  # hsmsign-authorizer's config (docs/authorizer.md, "Config reference"); members left null are
  # dropped so that the program's defaults apply.
  mtls_config = var.mtls == null ? null : {
    for k, v in {
      require_cnf    = var.mtls.require_cnf
      cache_seconds  = var.mtls.cache_seconds
      dynamodb_table = var.mtls.dynamodb_table_name
      status_url     = var.mtls.status_url
    } : k => v if v != null
  }
  config = {
    for k, v in {
      issuer            = var.issuer
      audiences         = var.audiences
      algorithms        = var.algorithms
      leeway_seconds    = var.leeway_seconds
      wildcard_resource = var.wildcard_resource
      jwks = {
        ssm_parameter     = var.jwks_parameter_name
        max_age_seconds   = var.jwks_max_age_seconds
        refresh_seconds   = var.jwks_refresh_seconds
        max_stale_seconds = var.jwks_max_stale_seconds
      }
      mtls   = local.mtls_config
      routes = length(var.routes) == 0 ? null : { for r, scopes in var.routes : r => { scopes = scopes } }
    } : k => v if v != null
  }
  config_json = jsonencode(local.config)
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  function_name = var.name
  description   = "hsmsign-authorizer: API Gateway Lambda authorizer for hsmsign's JWTs"
  role          = aws_iam_role.this.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = [var.architecture]

  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency

  # provided.al2023's /lambda-entrypoint.sh passes this one word on as the handler name
  # (_HANDLER); the image's entrypoint execs hsmsign-authorizer for it.
  image_config {
    command = ["hsmsign-authorizer"]
  }

  environment {
    variables = {
      HSMSIGN_AUTHORIZER_CONFIG_JSON = local.config_json
      HSMSIGN_RUNTIME_DIR            = "/tmp/hsmsign"
      HSMSIGN_LOG_LEVEL              = var.log_level
    }
  }

  logging_config {
    log_format = "Text" # hsmsign-authorizer writes JSON lines itself
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tags = var.tags

  lifecycle {
    precondition {
      # Lambda allows 4 KB for all environment variables together.
      condition     = length(local.config_json) <= 3500
      error_message = "The authorizer config is over 3500 bytes (Lambda's environment holds 4 KB): fewer routes or audiences."
    }
    precondition {
      condition     = var.mtls == null || (local.mtls_dynamodb != local.mtls_status)
      error_message = "mtls: set exactly one of dynamodb_table_name and status_url."
    }
    precondition {
      condition     = !local.mtls_dynamodb || var.inventory_table_arn != null
      error_message = "mtls.dynamodb_table_name needs inventory_table_arn (module inventory) for the GetItem permission."
    }
    precondition {
      condition     = !local.mtls_status || var.status_api_execution_arn != null
      error_message = "mtls.status_url needs status_api_execution_arn (module api) for the execute-api permission."
    }
  }

  depends_on = [aws_iam_role_policy.this]
}

# API Gateway may invoke the function only from these sources: a REST API authorizer
# (EXECUTION_ARN/authorizers/AUTHORIZER_ID) or an HTTP API (EXECUTION_ARN/authorizers/ID).
resource "aws_lambda_permission" "api_gateway" {
  for_each = var.api_gateway_source_arns

  statement_id  = "AllowInvokeFromApiGateway-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = each.value
}
