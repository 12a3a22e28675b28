# keygen: server-side SSH key generation in the AWS shape (issue 11, deliverable 3), only with
# var.keygen_enabled.
#
#   POST /v1/ssh/keys   the API function (aws_lambda_function.this) writes a pending item
#                       "keygen#<request_id>" to the inventory table and sends the job to the
#                       request queue (nothing secret in it: the requester's X25519 public key,
#                       the key type, the certificate request)
#   worker              aws_lambda_function.keygen_worker: the same image and binary (hsmsignd
#                       tells an SQS event from an API Gateway event by its "Records"), fed by an
#                       event source mapping with ReportBatchItemFailures; it makes the key pair in
#                       memory, certifies it with the token's SSH CA, seals the result to the
#                       requester's key (libsodium sealed box) and completes the item
#   GET /v1/ssh/keys/{request_id}   the API function takes the sealed result once (DeleteItem)
#
# Why the inventory table and not a table of its own: the items need exactly what the table
# already has (a TTL attribute, expires_at; point-in-time recovery, encryption, deletion
# protection), their key "keygen#<32 hex>" can never be a certificate serial (hex digits only), the
# sparse GSIs never see them (no revoked_part), and IAM can still confine each role to them with
# the dynamodb:LeadingKeys condition key, so a second table would add an ARN to every policy and
# nothing else. DynamoDB's TTL deletion is lazy (typically within days): the backend also checks
# expires_at on every read (store/st_keygen.h), so an expired result is never handed out.
#
# Queue: SSE (SQS managed keys, or var.keygen_queue_kms_key_arn), a visibility timeout of 6 x the
# worker's timeout (AWS Lambda Developer Guide, "Using Lambda with Amazon SQS": at least six times
# the function timeout, so a batch retried by the mapping is not delivered twice), redrive to a
# dead-letter queue after 3 receives, and an alarm as soon as the dead-letter queue holds a
# message (a job that failed three times: look at the worker's lambda.sqs.message.failed lines).
# Messages hold no private key, but they name principals: retention is kept short.
#
# IAM, least privilege:
#   API role (aws_iam_role.lambda) gains: sqs:SendMessage on the request queue only; PutItem,
#     GetItem and DeleteItem on items whose key starts "keygen#" (dynamodb:LeadingKeys) only.
#   worker role: receive/delete/attributes on the request queue only (what the mapping needs);
#     UpdateItem (complete) and GetItem on "keygen#" items only; PutItem on certificate records
#     only (LeadingKeys not "keygen#*" nor "meta#*": it records the SSH certificate it issued,
#     and can neither touch a counter nor forge a result); GetItem on the table (the store reads
#     the revocation generation when it opens); no Query, no DeleteItem, no revocation
#     (UpdateItem is confined to keygen items). Plus the PIN secret, the published parameters,
#     its own log group and the VPC ENI actions, as the API role has them.

locals {
  keygen_queue_name = "${var.name}-keygen"
  keygen_worker     = "${var.name}-keygen-worker"
  create_keygen     = var.keygen_enabled
  create_worker     = var.keygen_enabled && local.create_lambda
  keygen_prefix     = ["keygen#*"]
  not_keygen_items  = ["keygen#*", "meta#*"]
}

resource "aws_sqs_queue" "keygen_dlq" {
  count = local.create_keygen ? 1 : 0

  name                              = "${local.keygen_queue_name}-dlq"
  message_retention_seconds         = 1209600 # 14 days, SQS's maximum: time to look at a failure
  sqs_managed_sse_enabled           = var.keygen_queue_kms_key_arn == null ? true : null
  kms_master_key_id                 = var.keygen_queue_kms_key_arn
  kms_data_key_reuse_period_seconds = var.keygen_queue_kms_key_arn == null ? null : 300

  tags = var.tags
}

resource "aws_sqs_queue" "keygen" {
  count = local.create_keygen ? 1 : 0

  name                              = local.keygen_queue_name
  visibility_timeout_seconds        = 6 * var.keygen_worker_timeout_seconds
  message_retention_seconds         = var.keygen_result_ttl_seconds # an older job's item is gone
  max_message_size                  = 262144
  receive_wait_time_seconds         = 20
  sqs_managed_sse_enabled           = var.keygen_queue_kms_key_arn == null ? true : null
  kms_master_key_id                 = var.keygen_queue_kms_key_arn
  kms_data_key_reuse_period_seconds = var.keygen_queue_kms_key_arn == null ? null : 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.keygen_dlq[0].arn
    maxReceiveCount     = 3
  })

  tags = var.tags
}

resource "aws_sqs_queue_redrive_allow_policy" "keygen_dlq" {
  count = local.create_keygen ? 1 : 0

  queue_url = aws_sqs_queue.keygen_dlq[0].id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.keygen[0].arn]
  })
}

resource "aws_cloudwatch_metric_alarm" "keygen_dlq" {
  count = local.create_keygen ? 1 : 0

  alarm_name          = "${local.keygen_queue_name}-dlq-not-empty"
  alarm_description   = "A key generation job failed maxReceiveCount (3) times and is in the dead-letter queue; see the worker's lambda.sqs.message.failed log lines."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.keygen_dlq[0].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.keygen_alarm_actions
  ok_actions          = var.keygen_alarm_actions

  tags = var.tags
}

# --- the API role's additions ------------------------------------------------------------------

data "aws_iam_policy_document" "keygen_api" {
  count = local.create_keygen ? 1 : 0

  statement {
    sid       = "KeygenEnqueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.keygen[0].arn]
  }

  statement {
    sid       = "KeygenItems"
    actions   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem"]
    resources = [var.dynamodb_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = local.keygen_prefix
    }
  }

  dynamic "statement" {
    for_each = var.keygen_queue_kms_key_arn == null ? [] : [var.keygen_queue_kms_key_arn]

    content {
      sid       = "KeygenQueueKey"
      actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["sqs.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "keygen_api" {
  count = local.create_keygen ? 1 : 0

  name   = "hsmsignd-keygen"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.keygen_api[0].json
}

# --- the worker --------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "keygen_worker" {
  count = local.create_keygen ? 1 : 0

  name              = "/aws/lambda/${local.keygen_worker}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

data "aws_iam_policy_document" "keygen_worker" {
  count = local.create_keygen ? 1 : 0

  dynamic "statement" {
    for_each = length(var.ssm_parameter_arns) > 0 ? [1] : []

    content {
      sid       = "PublishedParameters"
      actions   = ["ssm:GetParameters", "ssm:GetParameter"]
      resources = sort(values(var.ssm_parameter_arns))
    }
  }

  dynamic "statement" {
    for_each = var.pin_secret_arn == null ? [] : [var.pin_secret_arn]

    content {
      sid       = "CryptoUserPin"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "KeygenQueue"
    actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
    resources = [aws_sqs_queue.keygen[0].arn]
  }

  statement {
    sid       = "KeygenResults"
    actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
    resources = [var.dynamodb_table_arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = local.keygen_prefix
    }
  }

  statement {
    sid       = "CertificateRecords"
    actions   = ["dynamodb:PutItem"]
    resources = [var.dynamodb_table_arn]

    condition {
      test     = "ForAllValues:StringNotLike"
      variable = "dynamodb:LeadingKeys"
      values   = local.not_keygen_items
    }
  }

  statement {
    sid       = "InventoryRead"
    actions   = ["dynamodb:GetItem"]
    resources = [var.dynamodb_table_arn]
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 || var.keygen_queue_kms_key_arn != null ? [1] : []

    content {
      sid       = "DataKeysViaServices"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = compact(concat(var.kms_key_arns, [var.keygen_queue_kms_key_arn]))

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values = [
          "dynamodb.${local.region}.amazonaws.com",
          "secretsmanager.${local.region}.amazonaws.com",
          "sqs.${local.region}.amazonaws.com",
        ]
      }
    }
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.keygen_worker[0].arn}:*"]
  }

  statement {
    sid     = "VpcEniCreate"
    actions = ["ec2:CreateNetworkInterface"]
    resources = concat(
      ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"],
      [for id in var.subnet_ids : "arn:${local.partition}:ec2:${local.region}:${local.account_id}:subnet/${id}"],
      ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:security-group/${var.security_group_id}"],
    )
  }

  statement {
    sid       = "VpcEniManage"
    actions   = ["ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = ["arn:${local.partition}:ec2:${local.region}:${local.account_id}:network-interface/*"]
  }

  statement {
    sid       = "VpcEniDescribe"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    resources = ["*"]
  }
}

resource "aws_iam_role" "keygen_worker" {
  count = local.create_keygen ? 1 : 0

  name                 = "${local.keygen_worker}-lambda"
  description          = "hsmsignd keygen worker (SQS event source)"
  assume_role_policy   = data.aws_iam_policy_document.assume_lambda.json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "keygen_worker" {
  count = local.create_keygen ? 1 : 0

  name   = "hsmsignd-keygen-worker"
  role   = aws_iam_role.keygen_worker[0].id
  policy = data.aws_iam_policy_document.keygen_worker[0].json
}

resource "aws_lambda_function" "keygen_worker" {
  count = local.create_worker ? 1 : 0

  function_name = local.keygen_worker
  description   = "hsmsignd keygen worker: SSH key pairs made in memory, certified on CloudHSM, sealed to the requester"
  role          = aws_iam_role.keygen_worker[0].arn
  package_type  = "Image"
  image_uri     = local.image_uri
  architectures = [var.architecture]

  memory_size = var.lambda_memory_mb
  timeout     = var.keygen_worker_timeout_seconds
  # Few at a time: each holds HSM sessions, and the API function needs its share of them.
  reserved_concurrent_executions = var.keygen_worker_concurrency

  image_config {
    command = ["hsmsignd"]
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [var.security_group_id]
  }

  environment {
    variables = local.lambda_environment
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.keygen_worker[0].name
  }

  ephemeral_storage {
    size = 512
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.pin_secret_arn != null && length(var.hsm_ip_addresses) >= 1
      error_message = "The keygen worker needs pin_secret_arn and hsm_ip_addresses, as the API function does."
    }
  }
}

resource "aws_lambda_event_source_mapping" "keygen" {
  count = local.create_worker ? 1 : 0

  event_source_arn                   = aws_sqs_queue.keygen[0].arn
  function_name                      = aws_lambda_function.keygen_worker[0].arn
  batch_size                         = var.keygen_batch_size
  maximum_batching_window_in_seconds = 0 # a requester is polling: no waiting for a fuller batch
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = max(2, var.keygen_worker_concurrency)
  }
}
