output "cluster_id" {
  description = "ID of the CloudHSM cluster (cluster-...)."
  value       = aws_cloudhsm_v2_cluster.this.cluster_id
}

output "cluster_state" {
  description = "State of the cluster as of the last refresh: UNINITIALIZED until initialise-cluster, INITIALIZED until activated, then ACTIVE."
  value       = aws_cloudhsm_v2_cluster.this.cluster_state
}

output "cluster_csr" {
  description = "The cluster's certificate signing request, to be signed by your customer CA for initialise-cluster. Empty until the first HSM exists and the state has been refreshed."
  value       = try(aws_cloudhsm_v2_cluster.this.cluster_certificates[0].cluster_csr, "")
}

output "security_group_id" {
  description = "ID of the security group AWS created for the cluster."
  value       = aws_cloudhsm_v2_cluster.this.security_group_id
}

output "hsm_ids" {
  description = "HSM IDs keyed by availability zone."
  value       = { for az, h in aws_cloudhsm_v2_hsm.this : az => h.hsm_id }
}

output "hsm_ip_addresses" {
  description = "IP addresses of the HSMs' ENIs, sorted by availability zone: what configure-pkcs11 -a takes."
  value       = [for az in sort(keys(aws_cloudhsm_v2_hsm.this)) : aws_cloudhsm_v2_hsm.this[az].ip_address]
}
