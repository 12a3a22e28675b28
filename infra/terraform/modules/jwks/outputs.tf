output "parameter_names" {
  description = "Names of the published parameters keyed by role: config, jwks, truststore, hsm_ca_cert, and config_ecs when created."
  value = merge(
    {
      config      = aws_ssm_parameter.this["config"].name
      jwks        = aws_ssm_parameter.this["jwks"].name
      truststore  = aws_ssm_parameter.this["truststore"].name
      hsm_ca_cert = aws_ssm_parameter.this["hsm-ca-cert"].name
    },
    { for p in aws_ssm_parameter.container_config : "config_ecs" => p.name },
  )
}

output "parameter_arns" {
  description = "ARNs of the published parameters keyed by role (the signer may read exactly these)."
  value = merge(
    {
      config      = aws_ssm_parameter.this["config"].arn
      jwks        = aws_ssm_parameter.this["jwks"].arn
      truststore  = aws_ssm_parameter.this["truststore"].arn
      hsm_ca_cert = aws_ssm_parameter.this["hsm-ca-cert"].arn
    },
    { for p in aws_ssm_parameter.container_config : "config_ecs" => p.arn },
  )
}

output "revision" {
  description = "SHA-256 over every published value: changes whenever anything published changes (the signer restarts on it)."
  value       = sha256(jsonencode([local.values, var.create_container_config ? var.container_config_json : null]))
}
