output "url" {
  description = "The console's URL (https://DOMAIN/): what operators open, and the Cognito redirect URI."
  value       = local.redirect_uri
}

output "origin" {
  description = "The console's origin (https://DOMAIN, no trailing '/'): pass it to module api as console_origin (CORS)."
  value       = local.origin
}

output "distribution_id" {
  description = "ID of the CloudFront distribution (aws cloudfront create-invalidation --distribution-id ID --paths '/*' after an upload outside Terraform)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_domain_name" {
  description = "The distribution's *.cloudfront.net name (the DNS target of domain_name when Route 53 is not managed here)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "bucket_name" {
  description = "Name of the private bucket holding the console's files."
  value       = aws_s3_bucket.this.id
}

output "content_security_policy" {
  description = "The Content-Security-Policy CloudFront adds to every answer."
  value       = local.csp
}

output "config_json" {
  description = "The generated config.json (the console's AWS contract; no secret in it)."
  value       = local.console_config_json
}

output "user_pool_id" {
  description = "ID of the Cognito user pool (create console users: aws cognito-idp admin-create-user --user-pool-id ID --username EMAIL)."
  value       = aws_cognito_user_pool.this.id
}

output "identity_pool_id" {
  description = "ID of the Cognito identity pool."
  value       = aws_cognito_identity_pool.this.id
}

output "role_arn" {
  description = "ARN of the IAM role every console user acts as."
  value       = aws_iam_role.this.arn
}

output "principal_pattern" {
  description = "The principal hsmsignd sees for console users (arn:PARTITION:sts::ACCOUNT:assumed-role/ROLE/*; the session name is Cognito's CognitoIdentityCredentials): put it into hsmsignd's policy admins or a rule's principals."
  value       = "arn:${split(":", aws_iam_role.this.arn)[1]}:sts::${split(":", aws_iam_role.this.arn)[4]}:assumed-role/${aws_iam_role.this.name}/*"
}
