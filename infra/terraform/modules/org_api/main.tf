# org_api: hsmsignd's IAM routes for callers anywhere in the AWS Organization, on a REST API whose
# resource policy admits only principals of that organization (aws:PrincipalOrgID).
#
# Why a REST API beside module api's HTTP API: HTTP APIs have no resource policy, so an HTTP API
# with AWS_IAM authorization accepts callers of its own account only (others would have to
# assume a role there, and hsmsignd would then see that role instead of the caller, which breaks
# claim profiles that name the caller). A REST API's resource policy can allow execute-api:Invoke
# to the organization's principals, each calling with its own identity (SigV4, service
# execute-api); hsmsignd still decides per principal (its config's policy) what each may do.
#
# Routes: var.iam_routes (default: every AWS_IAM route of api/api_route.c), all AWS_IAM, each a
# Lambda proxy integration (payload 1.0: hsmsignd reads requestContext.identity.userArn) of the
# signer's function. Nothing else is routed. Resource policy: Allow for aws:PrincipalOrgID =
# var.organization_id on those routes, and an explicit Deny for every other principal.
# Callers use https://API-ID.execute-api.REGION.amazonaws.com/STAGE/v1/... (output invoke_url);
# their own IAM policies must allow execute-api:Invoke on execution_arn/STAGE/METHOD/path.

locals {
  # "METHOD /path" -> OpenAPI paths: { "/path" = { method = operation } }
  routes = [for r in var.iam_routes : { method = lower(split(" ", r)[0]), path = split(" ", r)[1] }]
  paths = {
    for p in distinct([for r in local.routes : r.path]) : p => merge(
      {
        for r in local.routes : r.method => {
          security = [{ sigv4 = [] }]
          "x-amazon-apigateway-integration" = {
            type                 = "aws_proxy"
            httpMethod           = "POST"
            uri                  = var.lambda_invoke_arn
            payloadFormatVersion = "1.0"
            timeoutInMillis      = var.integration_timeout_ms
          }
          responses = {}
        } if r.path == p
      },
      length(regexall("\\{[a-z_]+\\}", p)) == 0 ? {} : {
        parameters = [for name in regexall("\\{([a-z_]+)\\}", p) : { name = name[0], in = "path", required = true, schema = { type = "string" } }]
      },
    )
  }
  openapi = {
    openapi = "3.0.1"
    info = {
      title   = var.name
      version = "1"
    }
    paths = local.paths
    components = {
      securitySchemes = {
        sigv4 = {
          type                           = "apiKey"
          name                           = "Authorization"
          in                             = "header"
          "x-amazon-apigateway-authtype" = "awsSigv4"
        }
      }
    }
  }
}

resource "aws_api_gateway_rest_api" "this" {
  name        = var.name
  description = "hsmsign: IAM routes for the principals of organization ${var.organization_id}"
  body        = jsonencode(local.openapi)

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags
}

data "aws_iam_policy_document" "resource_policy" {
  statement {
    sid       = "OrganizationPrincipals"
    effect    = "Allow"
    actions   = ["execute-api:Invoke"]
    resources = [for r in local.routes : "${aws_api_gateway_rest_api.this.execution_arn}/*/${upper(r.method)}${replace(r.path, "/\\{[a-z_]+\\}/", "*")}"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.organization_id]
    }
  }

  statement {
    sid       = "EveryoneElse"
    effect    = "Deny"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.this.execution_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalOrgID"
      values   = [var.organization_id]
    }
  }
}

resource "aws_api_gateway_rest_api_policy" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  policy      = data.aws_iam_policy_document.resource_policy.json
}

# A resource policy takes effect only with a new deployment: the policy is part of the trigger.
resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(jsonencode([local.openapi, data.aws_iam_policy_document.resource_policy.json]))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_api_gateway_rest_api_policy.this]
}

resource "aws_api_gateway_stage" "this" {
  rest_api_id   = aws_api_gateway_rest_api.this.id
  deployment_id = aws_api_gateway_deployment.this.id
  stage_name    = var.stage_name

  tags = var.tags
}

resource "aws_api_gateway_method_settings" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }
}

# Only this API's IAM routes may invoke the signer through it.
resource "aws_lambda_permission" "this" {
  statement_id  = "AllowInvokeFromApiGatewayOrg"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/*/v1/*"
}
