variable "name" {
  description = "Name prefix for every resource of this module (e.g. \"hsmsign-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/20"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && try(tonumber(split("/", var.vpc_cidr)[1]) <= 24, false)
    error_message = "vpc_cidr must be an IPv4 CIDR block of /24 or larger."
  }
}

variable "private_subnets" {
  description = "The private subnets, one per Availability Zone: the signer (Lambda ENIs, Fargate tasks), the interface endpoints and the CloudHSM HSMs live here. At least two AZs; three give CloudHSM's new keys durability against the loss of one HSM (docs/cloudhsm.md)."
  type = list(object({
    availability_zone = string
    cidr_block        = string
  }))

  validation {
    condition     = length(var.private_subnets) >= 2 && length(distinct([for s in var.private_subnets : s.availability_zone])) == length(var.private_subnets)
    error_message = "private_subnets: at least two subnets, each in a different availability_zone."
  }

  validation {
    condition     = alltrue([for s in var.private_subnets : can(cidrhost(s.cidr_block, 0))])
    error_message = "private_subnets: every cidr_block must be an IPv4 CIDR block."
  }
}

variable "interface_endpoint_services" {
  description = "AWS services reached through interface VPC endpoints (the part after com.amazonaws.REGION.). The defaults are what the signer uses: SSM (config, JWKS), Secrets Manager (CU PIN), CloudWatch Logs, ECR API and registry (Fargate image pulls), STS. Add \"kms\" when the signer calls KMS itself (it does not by default: Secrets Manager and DynamoDB call KMS on its behalf), \"cloudhsmv2\" when configure-pkcs11 --cluster-id is used instead of HSM addresses."
  type        = list(string)
  default     = ["ssm", "secretsmanager", "logs", "ecr.api", "ecr.dkr", "sts"]

  validation {
    condition     = alltrue([for s in var.interface_endpoint_services : can(regex("^[a-z0-9][a-z0-9.-]*$", s))]) && length(distinct(var.interface_endpoint_services)) == length(var.interface_endpoint_services)
    error_message = "interface_endpoint_services: service names such as \"ssm\" or \"ecr.dkr\", without duplicates."
  }

  validation {
    condition     = !contains(var.interface_endpoint_services, "s3") && !contains(var.interface_endpoint_services, "dynamodb")
    error_message = "interface_endpoint_services: s3 and dynamodb are always reached through gateway endpoints; do not list them."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
