# Route 53 health checks of hsmsign's main custom domain (GET /healthz: module api with
# healthz_route = true in examples/production), alarms in us-east-1 notifying an SNS topic
# there. Null hsmsign_domain_name: no checks.

resource "aws_sns_topic" "alarms" {
  count    = var.hsmsign_domain_name != null && var.alarm_topic_arn == null ? 1 : 0
  provider = aws.us_east_1

  name              = "${var.name}-health"
  kms_master_key_id = "alias/aws/sns"

  tags = var.tags
}

resource "aws_sns_topic_subscription" "alarms_email" {
  for_each = var.hsmsign_domain_name != null && var.alarm_topic_arn == null ? toset(var.alarm_emails) : toset([])
  provider = aws.us_east_1

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

module "health" {
  source = "../../modules/health_check"
  count  = var.hsmsign_domain_name != null ? 1 : 0

  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name          = var.name
  endpoints     = { main = var.hsmsign_domain_name }
  alarm_actions = [var.alarm_topic_arn != null ? var.alarm_topic_arn : aws_sns_topic.alarms[0].arn]
  tags          = var.tags
}
