# health_check: Route 53 health checks of hsmsign's endpoints (HTTPS GET /healthz on the custom
# domain; module api with healthz_route = true) and a CloudWatch alarm per check.
#
# Route 53 is global, but it publishes the health checks' metrics (AWS/Route53
# HealthCheckStatus) in us-east-1 only, so the alarms, and the SNS topics they notify, must be
# in us-east-1: the caller passes that provider as aws.us_east_1:
#   module "health" {
#     source    = "../../modules/health_check"
#     providers = { aws = aws, aws.us_east_1 = aws.us_east_1 }
#     ...
#   }
# A check is healthy when at least 18% of Route 53's checkers (the default) get a 2xx/3xx within
# 4 s of the TCP connection; hsmsignd answers 503 when no HSM session responds, so an HSM outage
# shows here as well as a broken domain, certificate or API mapping.

resource "aws_route53_health_check" "this" {
  for_each = var.endpoints

  type              = "HTTPS"
  fqdn              = each.value
  port              = 443
  resource_path     = var.resource_path
  enable_sni        = true
  request_interval  = var.request_interval_seconds
  failure_threshold = var.failure_threshold
  measure_latency   = true
  regions           = var.checker_regions

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = var.endpoints
  provider = aws.us_east_1

  alarm_name          = "${var.name}-${each.key}-unhealthy"
  alarm_description   = "Route 53 health check of https://${each.value}${var.resource_path} failed (hsmsign ${each.key})."
  namespace           = "AWS/Route53"
  metric_name         = "HealthCheckStatus"
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = var.alarm_evaluation_periods
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching" # no data from the checks is not "healthy"

  dimensions = {
    HealthCheckId = aws_route53_health_check.this[each.key].id
  }

  alarm_actions = var.alarm_actions
  ok_actions    = var.alarm_actions

  tags = var.tags
}
