output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "private_subnet_ids" {
  description = "IDs of the private subnets, in the order of var.private_subnets' availability zones (sorted)."
  value       = [for az in sort(keys(local.subnets)) : aws_subnet.private[az].id]
}

output "private_subnet_ids_by_az" {
  description = "IDs of the private subnets keyed by availability zone (for one CloudHSM HSM per AZ)."
  value       = { for az, s in aws_subnet.private : az => s.id }
}

output "private_route_table_ids" {
  description = "IDs of the private route tables (one per AZ)."
  value       = [for rt in aws_route_table.private : rt.id]
}

output "signer_security_group_id" {
  description = "Security group of hsmsignd (Lambda ENIs and Fargate tasks)."
  value       = aws_security_group.signer.id
}

output "endpoints_security_group_id" {
  description = "Security group of the interface VPC endpoints."
  value       = aws_security_group.endpoints.id
}

output "gateway_endpoint_ids" {
  description = "IDs of the DynamoDB and S3 gateway endpoints, keyed by service."
  value       = { for k, e in aws_vpc_endpoint.gateway : k => e.id }
}

output "interface_endpoint_ids" {
  description = "IDs of the interface VPC endpoints, keyed by service."
  value       = { for k, e in aws_vpc_endpoint.interface : k => e.id }
}
