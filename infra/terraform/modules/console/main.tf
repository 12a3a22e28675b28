# console: the web console (console/, a static single-page app) for the AWS deployment.
#
#   browser ──HTTPS──> CloudFront (response headers: CSP, HSTS, nosniff, no-referrer, DENY)
#                         └── S3 bucket (private; only this distribution reads it, Origin Access Control)
#   browser ──> Cognito hosted UI (user pool: OAuth 2.0 code flow + PKCE, public client, no secret)
#   browser ──> Cognito identity pool (ID token -> temporary credentials of the console role)
#   browser ──SigV4──> the API (module api, CORS for the console's origin) -> hsmsignd's policy
#
# The same files hsmsignd serves at /ui/ are uploaded here, plus a config.json generated from this
# module's resources; the console reads it at start (the contract, docs/console.md "AWS deployment"):
#   {"api_base": "https://<api domain>", "region": "<API region>", "service": "execute-api",
#    "cognito": {"identity_pool_id", "region", "user_pool_domain", "client_id", "redirect_uri",
#                "provider": "cognito-idp.<region>.amazonaws.com/<user pool id>"}}
#
# Every console user acts as one IAM role (output role_arn): hsmsignd sees
# arn:aws:sts::ACCOUNT:assumed-role/ROLE/CognitoIdentityCredentials for all of them, so put that
# principal (output principal_pattern) into hsmsignd's policy (admins or rules) for what the
# console may do, and know that the inventory's requester is the role, not the person (CloudTrail
# has the Cognito identity ID of each call).

data "aws_region" "current" {}

locals {
  region           = data.aws_region.current.name
  api_region       = coalesce(var.api_region, local.region)
  user_pool_domain = "${var.user_pool_domain_prefix}.auth.${local.region}.amazoncognito.com"
  origin           = "https://${coalesce(var.domain_name, aws_cloudfront_distribution.this.domain_name)}"
  redirect_uri     = "${local.origin}/"

  # hsmsignd's Content-Security-Policy for /ui/ (api/, wt-list), directive for directive, with the
  # origins the console calls from CloudFront added to connect-src: the API, Cognito's identity
  # pool endpoint and the user pool's hosted UI domain (its /oauth2/token endpoint).
  # tests/infra/console_check.mjs compares the two.
  csp_directives = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "connect-src 'self' ${var.api_base_url} https://cognito-identity.${local.region}.amazonaws.com https://${local.user_pool_domain}",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ]
  csp = join("; ", local.csp_directives)

  # Content-Type by file extension (lower case), as hsmsignd serves them; anything else is
  # application/octet-stream.
  content_types = {
    html  = "text/html; charset=utf-8"
    js    = "text/javascript; charset=utf-8"
    mjs   = "text/javascript; charset=utf-8"
    css   = "text/css; charset=utf-8"
    json  = "application/json"
    map   = "application/json"
    svg   = "image/svg+xml"
    png   = "image/png"
    ico   = "image/vnd.microsoft.icon"
    woff2 = "font/woff2"
    txt   = "text/plain; charset=utf-8"
  }

  # AWS managed cache policy "Managed-CachingOptimized": no cookies, headers or query strings in
  # the key (the OAuth redirect's ?code=&state= stays in the browser), gzip and brotli; it honours
  # the objects' Cache-Control.
  caching_optimized_policy_id = "658327ea-f89d-4fab-a63d-7e88639e58f6"
}

# --- bucket --------------------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  bucket_prefix = "${var.name}-"
  force_destroy = var.force_destroy

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# SSE-S3 (not SSE-KMS): CloudFront's Origin Access Control reads it without a key policy, and an
# object's ETag stays the MD5 of its content, which the uploads below compare (etag = filemd5).
resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

# An overwritten or deleted console file stays recoverable for 30 days.
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "CloudFrontReadsThroughOriginAccessControl"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]

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

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

# --- CloudFront ----------------------------------------------------------------------------------

resource "aws_cloudfront_origin_access_control" "this" {
  name                              = "${var.name}-s3"
  description                       = "hsmsign console: CloudFront signs its S3 requests (SigV4)"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "this" {
  name    = "${var.name}-security-headers"
  comment = "hsmsign console: CSP (hsmsignd's, plus the API and Cognito origins), HSTS, nosniff, no-referrer, DENY"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.csp
      override                = true
    }

    strict_transport_security {
      access_control_max_age_sec = var.hsts_max_age_seconds
      include_subdomains         = false
      preload                    = false
      override                   = true
    }

    content_type_options {
      override = true
    }

    referrer_policy {
      referrer_policy = "no-referrer"
      override        = true
    }

    frame_options {
      frame_option = "DENY"
      override     = true
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  enabled             = true
  comment             = "${var.name}: hsmsign web console"
  default_root_object = "index.html"
  aliases             = var.domain_name == null ? [] : [var.domain_name]
  price_class         = var.price_class
  http_version        = "http2and3"
  is_ipv6_enabled     = true

  origin {
    origin_id                = "console"
    domain_name              = aws_s3_bucket.this.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.this.id
  }

  default_cache_behavior {
    target_origin_id           = "console"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    viewer_protocol_policy     = "https-only"
    compress                   = true
    cache_policy_id            = local.caching_optimized_policy_id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.this.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  # With a custom domain: SNI and TLS 1.2 or newer. CloudFront's default certificate
  # (*.cloudfront.net) always has the TLSv1 security policy; browsers negotiate TLS 1.2/1.3 with it
  # anyway, but only a custom domain lets the server refuse older clients.
  viewer_certificate {
    cloudfront_default_certificate = var.domain_name == null
    acm_certificate_arn            = var.domain_name == null ? null : local.certificate_arn
    ssl_support_method             = var.domain_name == null ? null : "sni-only"
    minimum_protocol_version       = var.domain_name == null ? "TLSv1" : "TLSv1.2_2021"
  }

  tags = var.tags
}
