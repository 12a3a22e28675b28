output "table_name" {
  description = "Name of the inventory table."
  value       = aws_dynamodb_table.this.name
}

output "table_arn" {
  description = "ARN of the inventory table."
  value       = aws_dynamodb_table.this.arn
}

output "revoked_index_name" {
  description = "Name of the sparse GSI of revoked certificates."
  value       = local.revoked_index
}

output "revoked_index_arn" {
  description = "ARN of the GSI \"revoked\" (for IAM: dynamodb:Query on it)."
  value       = "${aws_dynamodb_table.this.arn}/index/${local.revoked_index}"
}

output "krl_index_arn" {
  description = "ARN of the GSI \"krl\" of revoked SSH certificates (for IAM: dynamodb:Query on it)."
  value       = "${aws_dynamodb_table.this.arn}/index/${local.krl_index}"
}
