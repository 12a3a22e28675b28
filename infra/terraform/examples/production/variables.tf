variable "region" {
  description = "AWS region of the deployment."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "name" {
  description = "Name of this deployment; prefix of every resource (e.g. \"hsmsign-prod\")."
  type        = string
  default     = "hsmsign-prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.40.0.0/20"
}

variable "private_subnets" {
  description = "One private subnet per availability zone (at least two; three for CloudHSM key durability). Each AZ gets one HSM."
  type = list(object({
    availability_zone = string
    cidr_block        = string
  }))
}

variable "hsm_type" {
  description = "CloudHSM HSM type: hsm2m.medium (default) or hsm1.medium."
  type        = string
  default     = "hsm2m.medium"
}

variable "hsm_mode" {
  description = "Cluster mode for hsm2m.medium: FIPS or NON_FIPS (Ed25519 needs NON_FIPS). Fixed at creation."
  type        = string
  default     = "FIPS"
}

variable "cloudhsm_source_backup_id" {
  description = "Restore the cluster from this CloudHSM backup (null: a new cluster)."
  type        = string
  default     = null
}

variable "ceremony_security_group_id" {
  description = "Security group of the key ceremony host, allowed to reach the HSMs while set (null: none). Remove it again after the ceremony."
  type        = string
  default     = null
}

variable "deploy_service" {
  description = "Phase switch. false (phase 1): network, CloudHSM cluster, inventory table and ECR repository only, so that the cluster can be initialised, the CU created, the ceremony run and the image pushed. true (phase 2): also publish the parameters and create the Lambda function and the API (needs the ceremony files, image_digest and pin_secret_arn)."
  type        = bool
  default     = false
}

variable "image_digest" {
  description = "Digest (sha256:...) of the pushed hsmsign image; null in phase 1."
  type        = string
  default     = null
}

variable "pin_secret_arn" {
  description = "Full ARN of the Secrets Manager secret holding \"CU_user:password\" (created by the CU holder, never by Terraform); null in phase 1."
  type        = string
  default     = null
}

variable "jwks_file" {
  description = "Path of jwks.json from the key ceremony (read in phase 2)."
  type        = string
  default     = "ceremony/jwks.json"
}

variable "truststore_file" {
  description = "Path of truststore.pem from the key ceremony (read in phase 2): hsmsignd's chain and the mTLS truststore."
  type        = string
  default     = "ceremony/truststore.pem"
}

variable "hsm_ca_cert_file" {
  description = "Path of the cluster's customerCA.crt (the CA that signed the cluster certificate at initialisation; read in phase 2)."
  type        = string
  default     = "ceremony/customerCA.crt"
}

variable "hsm_token_label" {
  description = "PKCS#11 token label of the CloudHSM slot; confirm with pkcs11-tool -L (docs/cloudhsm.md)."
  type        = string
  default     = "hsm1"
}

variable "ca_key_uri" {
  description = "RFC 7512 URI of the issuing CA's private key on the token (hsmsignd ca.key), e.g. pkcs11:token=hsm1;object=prod-issuing-ca-2027;type=private."
  type        = string
  default     = null

  validation {
    condition     = var.ca_key_uri == null || can(regex("^pkcs11:", var.ca_key_uri))
    error_message = "ca_key_uri must be an RFC 7512 pkcs11: URI."
  }
}

variable "token_pool_size" {
  description = "PKCS#11 sessions per execution environment (token.pool_size); a Lambda environment serves one request at a time, so small is right."
  type        = number
  default     = 2
}

variable "cert_default_ttl_hours" {
  description = "Default certificate lifetime (ca.default_ttl_hours)."
  type        = number
  default     = 12
}

variable "cert_max_ttl_hours" {
  description = "Maximum certificate lifetime (ca.max_ttl_hours)."
  type        = number
  default     = 24
}

variable "crl_validity_hours" {
  description = "CRL validity (ca.crl_validity_hours)."
  type        = number
  default     = 24
}

variable "jwt_default_alg" {
  description = "Default JWS alg (jwt.default_alg), or null for the newest key's."
  type        = string
  default     = null
}

variable "jwt_default_ttl_seconds" {
  description = "Default token lifetime (jwt.default_ttl_seconds)."
  type        = number
  default     = 300
}

variable "jwt_max_ttl_seconds" {
  description = "Maximum token lifetime (jwt.max_ttl_seconds)."
  type        = number
  default     = 3600
}

variable "policy" {
  description = "hsmsignd's authorization policy (docs/api.md, \"Authorization: the policy\"): admins and rules. The default denies everything."
  type        = any
  default = {
    admins = []
    rules  = []
  }

  validation {
    condition     = can(length(var.policy.rules)) && can(length(try(var.policy.admins, [])))
    error_message = "policy must be an object with a rules list (and optionally admins)."
  }
}

variable "inventory_config" {
  description = "The \"inventory\" member of hsmsignd's config, or null for the default { dynamodb = { table, region } } on this deployment's table (api/api_config.h; \"endpoint\" and \"timeout_ms\" are optional). Never \"sqlite\" on Lambda: /tmp belongs to one execution environment."
  type        = any
  default     = null
}

variable "domain_name" {
  description = "Custom domain of the API (IAM and public routes), e.g. pki.example.com. Also the JWT issuer and the CRL URL's host. Required in phase 2."
  type        = string
  default     = null
}

variable "device_domain_name" {
  description = "Custom domain with mutual TLS for devices (POST /v1/tokens only), e.g. device.pki.example.com; null for none."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate for the custom domains, or null to request one with DNS validation in route53_zone_id."
  type        = string
  default     = null
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone for certificate validation and alias records, or null to manage DNS elsewhere."
  type        = string
  default     = null
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the signer (each environment is one CloudHSM connection)."
  type        = number
  default     = 20
}

variable "lambda_memory_mb" {
  description = "Memory of the signer function in MB."
  type        = number
  default     = 1024
}

variable "enable_ecs" {
  description = "Also run the image as an ECS Fargate service (container mode)."
  type        = bool
  default     = false
}

variable "ecs_config_file" {
  description = "Path of a separate hsmsignd config for the Fargate service (its own caller authentication), or null to reuse the Lambda config."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the signer's and the API's log groups."
  type        = number
  default     = 400
}
