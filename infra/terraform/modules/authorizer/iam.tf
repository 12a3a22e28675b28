# Least privilege. The authorizer may:
#   - CreateLogStream/PutLogEvents on its own log group
#   - ssm:GetParameter on exactly the JWKS parameter (a String: no KMS)
#   - with mtls.dynamodb_table_name: dynamodb:GetItem on exactly the inventory table, and only on
#     certificate items: the table's key is "serial"; the backend's counters are the items
#     "meta#..." (modules/inventory), which dynamodb:LeadingKeys keeps out of reach. kms:Decrypt
#     via DynamoDB on var.kms_key_arns when the table has a customer managed key.
#   - with mtls.status_url: execute-api:Invoke on GET /v1/certificates/* of hsmsignd's API only
#     (hsmsignd's policy must list the role in admins: docs/authorizer.md)
# Nothing else: no PutItem, no Query, no Scan, no secret.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "hsmsign-authorizer ${var.name}: reads the JWKS parameter and certificate status"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn

  tags = var.tags
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid       = "JwksParameter"
    actions   = ["ssm:GetParameter"]
    resources = [var.jwks_parameter_arn]
  }

  dynamic "statement" {
    for_each = local.mtls_dynamodb && var.inventory_table_arn != null ? [var.inventory_table_arn] : []

    content {
      sid       = "CertificateStatus"
      actions   = ["dynamodb:GetItem"]
      resources = [statement.value]

      condition {
        test     = "ForAllValues:StringNotLike"
        variable = "dynamodb:LeadingKeys"
        values   = ["meta#*"]
      }

      condition {
        test     = "Null"
        variable = "dynamodb:LeadingKeys"
        values   = ["false"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.mtls_dynamodb && length(var.kms_key_arns) > 0 ? [1] : []

    content {
      sid       = "TableKeyViaDynamoDB"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = var.kms_key_arns

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["dynamodb.${local.region}.amazonaws.com"]
      }
    }
  }

  dynamic "statement" {
    for_each = local.mtls_status && var.status_api_execution_arn != null ? [var.status_api_execution_arn] : []

    content {
      sid       = "CertificateStatusRoute"
      actions   = ["execute-api:Invoke"]
      resources = ["${statement.value}/*/GET/v1/certificates/*"]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "authorizer"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}
