# The console's files (console/build.sh -> console/dist) and the generated config.json.
#
# Every file under var.dist_dir is an object with its Content-Type from local.content_types and
# etag = its MD5 (SSE-S3 keeps the ETag the MD5), so `terraform apply` uploads exactly the files
# that changed and deletes those no longer built. index.html and config.json are revalidated on
# every load (Cache-Control: no-cache); the rest may be cached for 5 minutes, as hsmsignd does.
# A config.json in dist_dir is ignored: the one here is made from this deployment's resources.

locals {
  dist_files = toset([
    for f in fileset(var.dist_dir, "**") : f
    if f != "config.json" && !startswith(basename(f), ".")
  ])

  # The contract the console reads (docs/console.md, "AWS deployment"); keep these member names.
  console_config = {
    api_base = var.api_base_url
    region   = local.api_region
    service  = "execute-api"
    cognito = {
      identity_pool_id = aws_cognito_identity_pool.this.id
      region           = local.region
      user_pool_domain = local.user_pool_domain
      client_id        = aws_cognito_user_pool_client.this.id
      redirect_uri     = local.redirect_uri
      provider         = aws_cognito_user_pool.this.endpoint
    }
  }
  console_config_json = jsonencode(local.console_config)
}

resource "aws_s3_object" "dist" {
  for_each = local.dist_files

  bucket        = aws_s3_bucket.this.id
  key           = each.value
  source        = "${var.dist_dir}/${each.value}"
  etag          = filemd5("${var.dist_dir}/${each.value}")
  content_type  = lookup(local.content_types, lower(try(regex("\\.([A-Za-z0-9]+)$", each.value)[0], "")), "application/octet-stream")
  cache_control = each.value == "index.html" ? "no-cache" : "public, max-age=300"

  tags = var.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}

resource "aws_s3_object" "config" {
  bucket        = aws_s3_bucket.this.id
  key           = "config.json"
  content       = local.console_config_json
  etag          = md5(local.console_config_json)
  content_type  = local.content_types["json"]
  cache_control = "no-cache"

  tags = var.tags

  lifecycle {
    precondition {
      condition     = contains(local.dist_files, "index.html")
      error_message = "dist_dir has no index.html: build the console first (console/build.sh)."
    }
  }

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.this]
}
