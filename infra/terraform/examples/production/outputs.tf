output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "cloudhsm_cluster_id" {
  description = "ID of the CloudHSM cluster (initialise-cluster, configure-pkcs11 --cluster-id)."
  value       = module.cloudhsm.cluster_id
}

output "cloudhsm_cluster_state" {
  description = "State of the cluster at the last refresh."
  value       = module.cloudhsm.cluster_state
}

output "cloudhsm_cluster_csr" {
  description = "The cluster's CSR to sign with your customer CA (empty until the first HSM exists and the state is refreshed)."
  value       = module.cloudhsm.cluster_csr
}

output "hsm_ip_addresses" {
  description = "IP addresses of the HSMs (the signer configures the client SDK with them)."
  value       = module.cloudhsm.hsm_ip_addresses
}

output "ecr_repository_url" {
  description = "Where to push the image: docker push URL:TAG, then set image_digest."
  value       = module.signer.ecr_repository_url
}

output "inventory_table_name" {
  description = "Name of the DynamoDB inventory table."
  value       = module.inventory.table_name
}

output "parameter_names" {
  description = "SSM parameters hsmsignd starts from (phase 2)."
  value       = try(module.jwks[0].parameter_names, {})
}

output "lambda_function_name" {
  description = "Name of the signer's Lambda function (phase 2)."
  value       = module.signer.lambda_function_name
}

output "api_endpoint" {
  description = "Base URL of the API for IAM callers and relying parties (phase 2)."
  value       = try(module.api[0].api_endpoint, null)
}

output "api_execution_arn" {
  description = "Execution ARN to grant callers execute-api:Invoke on (phase 2)."
  value       = try(module.api[0].execution_arn, null)
}

output "device_endpoint" {
  description = "Base URL of the mTLS device API (phase 2, with device_domain_name)."
  value       = try(module.api[0].device_endpoint, null)
}

output "domain_targets" {
  description = "API Gateway targets for DNS records when Route 53 is not managed here."
  value       = try(module.api[0].domain_targets, {})
}
