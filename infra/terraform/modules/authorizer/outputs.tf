output "function_name" {
  description = "Name of the authorizer function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the authorizer function."
  value       = aws_lambda_function.this.arn
}

output "invoke_arn" {
  description = "Invoke ARN: the authorizer_uri of an aws_api_gateway_authorizer, the authorizer_uri of an aws_apigatewayv2_authorizer (REQUEST, payload 2.0)."
  value       = aws_lambda_function.this.invoke_arn
}

output "role_arn" {
  description = "ARN of the function's execution role (list it in hsmsignd's admins when mtls.status_url is used)."
  value       = aws_iam_role.this.arn
}

output "log_group_name" {
  description = "CloudWatch log group with the authorizer's decision lines."
  value       = aws_cloudwatch_log_group.this.name
}

output "config_json" {
  description = "The hsmsign-authorizer config the function runs with (docs/authorizer.md); check it offline with hsmsign-authorizer --config FILE --check-token -."
  value       = local.config_json
}
