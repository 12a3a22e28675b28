output "rest_api_id" {
  description = "ID of the organization's REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "execution_arn" {
  description = "Execution ARN: callers' IAM policies allow execute-api:Invoke on EXECUTION_ARN/STAGE/POST/v1/tokens etc."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "invoke_url" {
  description = "Base URL for the organization's callers (SigV4, service execute-api): INVOKE_URL/v1/tokens etc."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "resource_policy_json" {
  description = "The resource policy (Allow for the organization's principals on the IAM routes, Deny for anyone else)."
  value       = data.aws_iam_policy_document.resource_policy.json
}
