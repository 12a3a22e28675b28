output "health_check_ids" {
  description = "Route 53 health check IDs by endpoint name (e.g. for failover records)."
  value       = { for k, h in aws_route53_health_check.this : k => h.id }
}

output "alarm_arns" {
  description = "CloudWatch alarm ARNs (us-east-1) by endpoint name."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.arn }
}
