# HTTP API option (var.create_http_api): GET /hello behind API Gateway's built-in JWT authorizer.
# API Gateway reads hsmsign's OIDC discovery ({issuer}/.well-known/openid-configuration, public
# on the main API) and its jwks_uri, and checks the signature, iss, aud (the audience list), exp
# and nbf itself; no function runs for authorization. What it cannot do, and hsmsign-authorizer
# can: the mTLS binding (cnf.x5t#S256), the certificate's status, and a fixed algorithm
# allow-list per route. HTTP API JWT authorizers are documented to verify RSA signatures only
# (the ES algorithms in API Gateway's JwtConfiguration belong to REST API JWT authorizers): send
# this route RS256 tokens (hsmsignd with an RSA JWT key, e.g. a token profile like
# docs/snowflake.md's); the REST route's hsmsign-authorizer takes ES256 as well.
#
# The route's backend is the REST API's /hello above (HTTP_PROXY, the Authorization header passed
# on), so the example needs no code of its own: the token is checked by both authorizers.

resource "aws_apigatewayv2_api" "hello" {
  count = var.create_http_api ? 1 : 0

  name          = "${var.name}-hello-http"
  description   = "GET /hello behind a JWT authorizer using hsmsign's OIDC discovery"
  protocol_type = "HTTP"

  tags = var.tags
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  count = var.create_http_api ? 1 : 0

  api_id           = aws_apigatewayv2_api.hello[0].id
  name             = "hsmsign-jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.issuer
    audience = var.audiences
  }
}

resource "aws_apigatewayv2_integration" "hello" {
  count = var.create_http_api ? 1 : 0

  api_id               = aws_apigatewayv2_api.hello[0].id
  integration_type     = "HTTP_PROXY"
  integration_method   = "GET"
  integration_uri      = "${aws_api_gateway_stage.hello.invoke_url}/hello"
  timeout_milliseconds = 10000
}

resource "aws_apigatewayv2_route" "hello" {
  count = var.create_http_api ? 1 : 0

  api_id               = aws_apigatewayv2_api.hello[0].id
  route_key            = "GET /hello"
  authorization_type   = "JWT"
  authorizer_id        = aws_apigatewayv2_authorizer.jwt[0].id
  authorization_scopes = length(var.hello_scopes) > 0 ? var.hello_scopes : null
  target               = "integrations/${aws_apigatewayv2_integration.hello[0].id}"
}

resource "aws_apigatewayv2_stage" "hello" {
  count = var.create_http_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.hello[0].id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    detailed_metrics_enabled = true
    throttling_rate_limit    = var.throttling_rate_limit
    throttling_burst_limit   = var.throttling_burst_limit
  }

  tags = var.tags
}
