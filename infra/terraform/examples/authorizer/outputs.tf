output "rest_hello_url" {
  description = "GET this with Authorization: Bearer <token from hsmsign> (hsmsign call URL --audience AUD)."
  value       = "${aws_api_gateway_stage.hello.invoke_url}/hello"
}

output "http_hello_url" {
  description = "The HTTP API's GET /hello (JWT authorizer), or null."
  value       = try("${aws_apigatewayv2_stage.hello[0].invoke_url}hello", null)
}

output "authorizer_function_name" {
  description = "The authorizer function (its log group has one decision line per request)."
  value       = module.authorizer.function_name
}

output "authorizer_config_json" {
  description = "The config the authorizer runs with."
  value       = module.authorizer.config_json
}

output "health_check_ids" {
  description = "Route 53 health check IDs, or an empty map."
  value       = try(module.health[0].health_check_ids, {})
}
