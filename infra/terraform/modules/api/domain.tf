# Custom domains: var.domain_name (plain TLS, main API) and var.device_domain_name (mutual TLS,
# device API). One ACM certificate covers both: passed in (var.certificate_arn) or requested here
# with DNS validation in var.route53_zone_id.
#
# mTLS truststore: truststore.pem in a versioned, private S3 bucket; the domain pins the object
# version, so a new truststore (after an intermediate renewal: keyceremony export) is a new
# version and an explicit change of the domain, never a silent one. Keep the old intermediate in
# the bundle until its last leaf has expired (docs/ceremony.md).

locals {
  domains = merge(
    var.domain_name == null ? {} : { main = var.domain_name },
    var.device_domain_name == null ? {} : { device = var.device_domain_name },
  )
  create_certificate = var.certificate_arn == null && length(local.domains) > 0
  certificate_arn    = var.certificate_arn != null ? var.certificate_arn : try(aws_acm_certificate_validation.this[0].certificate_arn, null)
  truststore_key     = "truststore.pem"

  domain_resources = merge(
    { for d in aws_apigatewayv2_domain_name.main : "main" => d },
    { for d in aws_apigatewayv2_domain_name.device : "device" => d },
  )
}

resource "aws_acm_certificate" "this" {
  count = local.create_certificate ? 1 : 0

  domain_name               = coalesce(var.domain_name, var.device_domain_name)
  subject_alternative_names = var.domain_name != null && var.device_domain_name != null ? [var.device_domain_name] : []
  validation_method         = "DNS"

  tags = var.tags

  lifecycle {
    create_before_destroy = true

    precondition {
      condition     = var.route53_zone_id != null
      error_message = "Requesting a certificate here needs route53_zone_id for DNS validation; otherwise pass certificate_arn."
    }
  }
}

resource "aws_route53_record" "validation" {
  for_each = local.create_certificate ? {
    for o in aws_acm_certificate.this[0].domain_validation_options : o.domain_name => o
  } : {}

  zone_id         = var.route53_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count = local.create_certificate ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

resource "aws_apigatewayv2_domain_name" "main" {
  count = var.domain_name == null ? 0 : 1

  domain_name = var.domain_name

  domain_name_configuration {
    certificate_arn = local.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  tags = var.tags
}

resource "aws_apigatewayv2_api_mapping" "main" {
  count = var.domain_name == null ? 0 : 1

  api_id      = aws_apigatewayv2_api.main.id
  domain_name = aws_apigatewayv2_domain_name.main[0].id
  stage       = aws_apigatewayv2_stage.main.id
}

# --- mTLS truststore -----------------------------------------------------------------------------

resource "aws_s3_bucket" "truststore" {
  count = local.create_device_api ? 1 : 0

  bucket_prefix = "${var.name}-ts-"

  tags = var.tags
}

resource "aws_s3_bucket_versioning" "truststore" {
  count = local.create_device_api ? 1 : 0

  bucket = aws_s3_bucket.truststore[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "truststore" {
  count = local.create_device_api ? 1 : 0

  bucket                  = aws_s3_bucket.truststore[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "truststore" {
  count = local.create_device_api ? 1 : 0

  bucket = aws_s3_bucket.truststore[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "truststore" {
  count = local.create_device_api ? 1 : 0

  bucket = aws_s3_bucket.truststore[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

data "aws_iam_policy_document" "truststore" {
  count = local.create_device_api ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.truststore[0].arn, "${aws_s3_bucket.truststore[0].arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "truststore" {
  count = local.create_device_api ? 1 : 0

  bucket = aws_s3_bucket.truststore[0].id
  policy = data.aws_iam_policy_document.truststore[0].json

  depends_on = [aws_s3_bucket_public_access_block.truststore]
}

resource "aws_s3_object" "truststore" {
  count = local.create_device_api ? 1 : 0

  bucket       = aws_s3_bucket.truststore[0].id
  key          = local.truststore_key
  content      = var.truststore_pem
  content_type = "application/x-pem-file"

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.truststore_pem != null
      error_message = "device_domain_name (mTLS) needs truststore_pem."
    }
  }

  # The object must be written into the versioned bucket to get a version ID to pin.
  depends_on = [aws_s3_bucket_versioning.truststore]
}

resource "aws_apigatewayv2_domain_name" "device" {
  count = local.create_device_api ? 1 : 0

  domain_name = var.device_domain_name

  domain_name_configuration {
    certificate_arn = local.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  mutual_tls_authentication {
    truststore_uri     = "s3://${aws_s3_bucket.truststore[0].id}/${local.truststore_key}"
    truststore_version = aws_s3_object.truststore[0].version_id
  }

  tags = var.tags
}

resource "aws_apigatewayv2_api_mapping" "device" {
  count = local.create_device_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.device[0].id
  domain_name = aws_apigatewayv2_domain_name.device[0].id
  stage       = aws_apigatewayv2_stage.device[0].id
}

# --- DNS -----------------------------------------------------------------------------------------

resource "aws_route53_record" "alias" {
  for_each = var.route53_zone_id == null ? {} : local.domains

  zone_id = var.route53_zone_id
  name    = each.value
  type    = "A"

  alias {
    name                   = local.domain_resources[each.key].domain_name_configuration[0].target_domain_name
    zone_id                = local.domain_resources[each.key].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
