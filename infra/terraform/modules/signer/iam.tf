# Least privilege. The signer (Lambda function and Fargate task role alike) may:
#   - ssm:GetParameters / GetParameter on exactly the published parameters (no path, no wildcard)
#   - secretsmanager:GetSecretValue on exactly the PIN secret
#   - the item actions of var.dynamodb_item_actions on exactly its table, Query on its GSI
#   - kms:Decrypt/GenerateDataKey on var.kms_key_arns only via DynamoDB and Secrets Manager
# The Lambda role adds: CreateLogStream/PutLogEvents on its own log group, and the ENI actions of
# the managed policy AWSLambdaVPCAccessExecutionRole, scoped as far as EC2 allows:
# CreateNetworkInterface to this account/region's network interfaces in the signer's subnets and
# security group; Delete/Assign/Unassign to this account/region's network interfaces (their IDs
# are not known in advance); the two Describe actions need "*" (EC2 has no resource-level
# permissions for them). If CreateFunction ever reports "The provided execution role does not
# have permissions to call CreateNetworkInterface on EC2", an SCP or a changed Lambda check is the
# cause: compare with AWSLambdaVPCAccessExecutionRole before widening anything.

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "data_access" {
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
    sid       = "InventoryItems"
    actions   = var.dynamodb_item_actions
    resources = [var.dynamodb_table_arn]
  }

  dynamic "statement" {
    for_each = length(var.dynamodb_index_arns) > 0 ? [1] : []

    content {
      sid       = "InventoryIndexes"
      actions   = ["dynamodb:Query"]
      resources = var.dynamodb_index_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "DataKeysViaServices"
      actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = var.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com", "secretsmanager.${local.region}.amazonaws.com"]
      }
    }
  }
}

data "aws_iam_policy_document" "lambda" {
  source_policy_documents = [data.aws_iam_policy_document.data_access.json]

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
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

resource "aws_iam_role" "lambda" {
  name                 = "${var.name}-lambda"
  description          = "hsmsignd Lambda function"
  assume_role_policy   = data.aws_iam_policy_document.assume_lambda.json
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "lambda" {
  name   = "hsmsignd"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}
