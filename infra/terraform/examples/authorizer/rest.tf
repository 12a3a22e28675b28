# REST API: GET /hello, answered by a mock integration (the replaced demo's hello backend) once
# hsmsign-authorizer allowed the request. API Gateway answers a Deny with 403 and a missing or
# unparsable token with 401, without reaching the integration.
#
# TOKEN authorizer: the event carries the Authorization header only. REQUEST authorizer: the
# whole request, including the client certificate on an mTLS custom domain (then the authorizer
# checks cnf.x5t#S256 and the certificate's status in the inventory). Both use the Authorization
# header as the identity source, which is also the cache key when authorizer_cache_seconds > 0.

resource "aws_api_gateway_rest_api" "hello" {
  name        = "${var.name}-hello"
  description = "GET /hello behind hsmsign-authorizer"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags
}

resource "aws_api_gateway_resource" "hello" {
  rest_api_id = aws_api_gateway_rest_api.hello.id
  parent_id   = aws_api_gateway_rest_api.hello.root_resource_id
  path_part   = "hello"
}

resource "aws_api_gateway_authorizer" "hsmsign" {
  name                             = "hsmsign"
  rest_api_id                      = aws_api_gateway_rest_api.hello.id
  type                             = var.rest_authorizer_type
  authorizer_uri                   = module.authorizer.invoke_arn
  identity_source                  = "method.request.header.Authorization"
  authorizer_result_ttl_in_seconds = var.authorizer_cache_seconds
  # TOKEN only: API Gateway answers 401 itself, without invoking the function, when the header
  # is not a bearer JWS compact token.
  identity_validation_expression = var.rest_authorizer_type == "TOKEN" ? "^Bearer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$" : null
}

resource "aws_api_gateway_method" "hello_get" {
  rest_api_id   = aws_api_gateway_rest_api.hello.id
  resource_id   = aws_api_gateway_resource.hello.id
  http_method   = "GET"
  authorization = "CUSTOM"
  authorizer_id = aws_api_gateway_authorizer.hsmsign.id
}

resource "aws_api_gateway_integration" "hello_get" {
  rest_api_id = aws_api_gateway_rest_api.hello.id
  resource_id = aws_api_gateway_resource.hello.id
  http_method = aws_api_gateway_method.hello_get.http_method
  type        = "MOCK"

  request_templates = {
    "application/json" = jsonencode({ statusCode = 200 })
  }
}

resource "aws_api_gateway_method_response" "hello_get_200" {
  rest_api_id = aws_api_gateway_rest_api.hello.id
  resource_id = aws_api_gateway_resource.hello.id
  http_method = aws_api_gateway_method.hello_get.http_method
  status_code = "200"

  response_models = {
    "application/json" = "Empty"
  }
}

# The answer names the caller from the authorizer's context (principalId = the token's sub).
resource "aws_api_gateway_integration_response" "hello_get_200" {
  rest_api_id = aws_api_gateway_rest_api.hello.id
  resource_id = aws_api_gateway_resource.hello.id
  http_method = aws_api_gateway_method.hello_get.http_method
  status_code = aws_api_gateway_method_response.hello_get_200.status_code

  response_templates = {
    "application/json" = <<-EOT
      {"message": "hello", "sub": "$util.escapeJavaScript($context.authorizer.principalId)"}
    EOT
  }

  depends_on = [aws_api_gateway_integration.hello_get]
}

resource "aws_api_gateway_deployment" "hello" {
  rest_api_id = aws_api_gateway_rest_api.hello.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.hello.id,
      aws_api_gateway_authorizer.hsmsign,
      aws_api_gateway_method.hello_get,
      aws_api_gateway_integration.hello_get,
      aws_api_gateway_integration_response.hello_get_200,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "hello" {
  rest_api_id   = aws_api_gateway_rest_api.hello.id
  deployment_id = aws_api_gateway_deployment.hello.id
  stage_name    = var.rest_stage_name

  tags = var.tags
}

resource "aws_api_gateway_method_settings" "hello" {
  rest_api_id = aws_api_gateway_rest_api.hello.id
  stage_name  = aws_api_gateway_stage.hello.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }
}
