# network: the signer's VPC. Private subnets only: no internet gateway, no NAT. Everything the
# signer talks to is inside the VPC (the CloudHSM ENIs) or behind a VPC endpoint:
#   gateway endpoints:   DynamoDB (the inventory), S3 (ECR image layers for Fargate)
#   interface endpoints: var.interface_endpoint_services (SSM, Secrets Manager, Logs, ECR, STS)
# Lambda pulls its image through the Lambda service, not through this VPC. API Gateway invokes
# the Lambda function through the Lambda service; nothing here is reachable from the internet.
#
# Security groups: "signer" (Lambda ENIs and Fargate tasks) may only send HTTPS to the endpoint
# group and to the gateway endpoints' prefix lists; the cloudhsm module adds TCP 2223-2225 to the
# cluster's group. "endpoints" accepts HTTPS from "signer" only. The VPC's default security group
# is emptied so that nothing can use it by accident.

data "aws_region" "current" {}

locals {
  subnets = { for s in var.private_subnets : s.availability_zone => s.cidr_block }
  region  = data.aws_region.current.name
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints with private DNS need both

  tags = merge(var.tags, { Name = var.name })
}

# No rules: AWS's default group allows all traffic between its members and all egress.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_subnet" "private" {
  for_each = local.subnets

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = each.value
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name}-private-${each.key}", Tier = "private" })
}

# One route table per AZ: only the local route and the gateway endpoints' routes.
resource "aws_route_table" "private" {
  for_each = local.subnets

  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-private-${each.key}" })
}

resource "aws_route_table_association" "private" {
  for_each = local.subnets

  subnet_id      = aws_subnet.private[each.key].id
  route_table_id = aws_route_table.private[each.key].id
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = toset(["dynamodb", "s3"])

  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [for rt in aws_route_table.private : rt.id]

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_endpoint_services)

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = [for s in aws_subnet.private : s.id]
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })
}

resource "aws_security_group" "signer" {
  name        = "${var.name}-signer"
  description = "hsmsignd (Lambda ENIs, Fargate tasks): HTTPS to the VPC endpoints, TCP 2223-2225 to the CloudHSM cluster"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-signer" })
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from the signer only"
  vpc_id      = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name}-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_signer" {
  security_group_id            = aws_security_group.endpoints.id
  referenced_security_group_id = aws_security_group.signer.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  description                  = "HTTPS from hsmsignd"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "signer_to_endpoints" {
  security_group_id            = aws_security_group.signer.id
  referenced_security_group_id = aws_security_group.endpoints.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  description                  = "HTTPS to the interface endpoints"

  tags = var.tags
}

resource "aws_vpc_security_group_egress_rule" "signer_to_gateway_endpoints" {
  for_each = aws_vpc_endpoint.gateway

  security_group_id = aws_security_group.signer.id
  prefix_list_id    = each.value.prefix_list_id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  description       = "HTTPS to ${each.key} (gateway endpoint)"

  tags = var.tags
}
