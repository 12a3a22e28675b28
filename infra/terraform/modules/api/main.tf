# api: API Gateway HTTP APIs in front of the signer's Lambda function (Lambda proxy integration,
# payload format 2.0, the $default stage so that no stage prefix reaches hsmsignd).
#
# Main API (custom domain var.domain_name, or its execute-api endpoint):
#   AWS_IAM  POST /v1/certificates, GET /v1/certificates/{serial},
#            POST /v1/certificates/{serial}/revoke, POST /v1/tokens,
#            POST /v1/ssh/certificates, GET /v1/ssh/certificates/{serial},
#            POST /v1/ssh/certificates/{serial}/revoke, POST /v1/ssh/keys,
#            GET /v1/ssh/keys/{request_id}
#   public   GET /.well-known/jwks.json, GET /.well-known/openid-configuration, GET /v1/crl,
#            GET /v1/ssh/ca, GET /v1/ssh/krl
#   public   GET /healthz, only with var.healthz_route (health.tf: Route 53 health checks)
# Nothing else is routed: no /metrics, no $default catch-all route, so any other path is a 404
# from API Gateway without invoking the function.
#
# Device API (only with var.device_domain_name; domain.tf): mutual TLS devices get tokens.
#   NONE     POST /v1/tokens   on a custom domain with mTLS (truststore.pem in S3)
# Why a second API and domain rather than one more route: mTLS is a property of a custom domain,
# and a domain with mTLS demands a client certificate on every request, so IAM callers (who have
# none) cannot share it. Routes belong to an API, not to a domain, and one route cannot be "IAM or
# mTLS". So the IAM routes and the public routes (relying parties fetch the JWKS and the CRL
# without a certificate) stay on the main API and plain-TLS domain, and POST /v1/tokens is
# published a second time on its own API, mapped only to the mTLS domain, with no IAM
# authorization. API Gateway checks that the certificate chains to the truststore and is within
# its validity; it checks no revocation. hsmsignd then applies its own rules to
# requestContext.authentication.clientCert (issued by this service's CA, clientAuth, present in
# the inventory, not revoked; docs/api.md) and binds the token to it (cnf.x5t#S256). A request
# without a certificate cannot reach the function: the device API's execute-api endpoint is off.
#
# Only these APIs may invoke the function (aws_lambda_permission): whoever can invoke it directly
# can put any principal into an event (README, "As an AWS Lambda custom runtime").

locals {
  iam_routes = [
    "POST /v1/certificates",
    "GET /v1/certificates",
    "GET /v1/certificates/{serial}",
    "POST /v1/certificates/{serial}/revoke",
    "POST /v1/tokens",
    "POST /v1/ssh/certificates",
    "GET /v1/ssh/certificates/{serial}",
    "POST /v1/ssh/certificates/{serial}/revoke",
    "POST /v1/ssh/keys",
    "GET /v1/ssh/keys/{request_id}",
    "GET /v1/whoami",
  ]
  public_routes = concat([
    "GET /.well-known/jwks.json",
    "GET /.well-known/openid-configuration",
    "GET /v1/ca",
    "GET /v1/crl",
    "GET /v1/ssh/ca",
    "GET /v1/ssh/krl",
  ], var.healthz_route ? ["GET /healthz"] : [])
  device_routes     = ["POST /v1/tokens"]
  create_device_api = var.device_domain_name != null

  # One JSON line per request. No bodies and no headers; the caller's identity only.
  access_log_format = jsonencode({
    requestId        = "$context.requestId"
    requestTime      = "$context.requestTime"
    domainName       = "$context.domainName"
    sourceIp         = "$context.identity.sourceIp"
    userAgent        = "$context.identity.userAgent"
    routeKey         = "$context.routeKey"
    status           = "$context.status"
    protocol         = "$context.protocol"
    responseLength   = "$context.responseLength"
    latencyMs        = "$context.responseLatency"
    integrationMs    = "$context.integration.latency"
    integrationError = "$context.integrationErrorMessage"
    userArn          = "$context.identity.userArn"
    clientCertSerial = "$context.identity.clientCert.serialNumber"
    clientCertDN     = "$context.identity.clientCert.subjectDN"
  })
}

# --- main API ------------------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "main" {
  name                         = var.name
  description                  = "hsmsign: certificates and tokens for IAM callers; JWKS, OIDC discovery and CRL for everyone"
  protocol_type                = "HTTP"
  disable_execute_api_endpoint = var.domain_name != null && var.disable_execute_api_endpoint

  # CORS for the web console, only with var.console_origin (cors.tf says why no OPTIONS route).
  dynamic "cors_configuration" {
    for_each = var.console_origin == null ? [] : [var.console_origin]

    content {
      allow_origins     = [cors_configuration.value]
      allow_methods     = ["GET", "HEAD", "POST"]
      allow_headers     = local.cors_allow_headers
      expose_headers    = local.cors_expose_headers
      allow_credentials = false
      max_age           = var.cors_max_age_seconds
    }
  }

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "main" {
  api_id                 = aws_apigatewayv2_api.main.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = var.lambda_invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = var.integration_timeout_ms
}

resource "aws_apigatewayv2_route" "iam" {
  for_each = toset(local.iam_routes)

  api_id             = aws_apigatewayv2_api.main.id
  route_key          = each.value
  authorization_type = "AWS_IAM"
  target             = "integrations/${aws_apigatewayv2_integration.main.id}"
}

resource "aws_apigatewayv2_route" "public" {
  for_each = toset(local.public_routes)

  api_id             = aws_apigatewayv2_api.main.id
  route_key          = each.value
  authorization_type = "NONE"
  target             = "integrations/${aws_apigatewayv2_integration.main.id}"
}

resource "aws_cloudwatch_log_group" "main" {
  name              = "/aws/apigateway/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_apigatewayv2_stage" "main" {
  api_id      = aws_apigatewayv2_api.main.id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.main.arn
    format          = local.access_log_format
  }

  default_route_settings {
    detailed_metrics_enabled = true
    throttling_rate_limit    = var.throttling_rate_limit
    throttling_burst_limit   = var.throttling_burst_limit
  }

  dynamic "route_settings" {
    for_each = toset(local.public_routes)

    content {
      route_key                = route_settings.value
      detailed_metrics_enabled = true
      throttling_rate_limit    = var.public_throttling_rate_limit
      throttling_burst_limit   = var.public_throttling_burst_limit
    }
  }

  tags = var.tags

  # Route settings name routes that must exist first.
  depends_on = [aws_apigatewayv2_route.public, aws_apigatewayv2_route.iam]
}

resource "aws_lambda_permission" "main" {
  statement_id  = "AllowInvokeFromApiGatewayMain"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.main.execution_arn}/*/*"
}

# --- device API (mTLS) ---------------------------------------------------------------------------

resource "aws_apigatewayv2_api" "device" {
  count = local.create_device_api ? 1 : 0

  name                         = "${var.name}-device"
  description                  = "hsmsign: tokens for mTLS devices (custom domain with mutual TLS only)"
  protocol_type                = "HTTP"
  disable_execute_api_endpoint = true # the execute-api endpoint has no mTLS

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "device" {
  count = local.create_device_api ? 1 : 0

  api_id                 = aws_apigatewayv2_api.device[0].id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = var.lambda_invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = var.integration_timeout_ms
}

resource "aws_apigatewayv2_route" "device" {
  for_each = local.create_device_api ? toset(local.device_routes) : toset([])

  api_id             = aws_apigatewayv2_api.device[0].id
  route_key          = each.value
  authorization_type = "NONE" # the TLS handshake authenticated the device; hsmsignd authorises it
  target             = "integrations/${aws_apigatewayv2_integration.device[0].id}"
}

resource "aws_cloudwatch_log_group" "device" {
  count = local.create_device_api ? 1 : 0

  name              = "/aws/apigateway/${var.name}-device"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_apigatewayv2_stage" "device" {
  count = local.create_device_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.device[0].id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.device[0].arn
    format          = local.access_log_format
  }

  default_route_settings {
    detailed_metrics_enabled = true
    throttling_rate_limit    = var.throttling_rate_limit
    throttling_burst_limit   = var.throttling_burst_limit
  }

  tags = var.tags
}

resource "aws_lambda_permission" "device" {
  count = local.create_device_api ? 1 : 0

  statement_id  = "AllowInvokeFromApiGatewayDevice"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.device[0].execution_arn}/*/*"
}
