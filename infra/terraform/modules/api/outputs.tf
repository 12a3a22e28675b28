output "api_id" {
  description = "ID of the main HTTP API."
  value       = aws_apigatewayv2_api.main.id
}

output "api_endpoint" {
  description = "The main API's base URL: https://DOMAIN with a custom domain, else its execute-api endpoint."
  value       = var.domain_name != null ? "https://${var.domain_name}" : aws_apigatewayv2_api.main.api_endpoint
}

output "execution_arn" {
  description = "Execution ARN of the main API: grant callers execute-api:Invoke on EXECUTION_ARN/*/POST/v1/certificates etc. in their own IAM policies."
  value       = aws_apigatewayv2_api.main.execution_arn
}

output "device_api_id" {
  description = "ID of the device (mTLS) API, or null without device_domain_name."
  value       = try(aws_apigatewayv2_api.device[0].id, null)
}

output "device_endpoint" {
  description = "The device API's base URL (https://DEVICE_DOMAIN), or null."
  value       = var.device_domain_name != null ? "https://${var.device_domain_name}" : null
}

output "domain_targets" {
  description = "For DNS managed elsewhere: per domain (main, device) the API Gateway target name and hosted zone ID for an alias or CNAME record."
  value = {
    for k, d in local.domain_resources : k => {
      domain_name    = d.domain_name
      target         = d.domain_name_configuration[0].target_domain_name
      hosted_zone_id = d.domain_name_configuration[0].hosted_zone_id
    }
  }
}

output "truststore_s3_uri" {
  description = "s3:// URI of the mTLS truststore, or null."
  value       = try("s3://${aws_s3_bucket.truststore[0].id}/${aws_s3_object.truststore[0].key}", null)
}

output "truststore_version" {
  description = "S3 object version of the truststore the device domain pins, or null."
  value       = try(aws_s3_object.truststore[0].version_id, null)
}

output "access_log_group_names" {
  description = "CloudWatch log groups of the API access logs."
  value       = concat([aws_cloudwatch_log_group.main.name], [for g in aws_cloudwatch_log_group.device : g.name])
}
