variable "name" {
  description = "Name prefix of the HTTP APIs, log groups and the truststore bucket (e.g. \"hsmsign-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "lambda_function_name" {
  description = "Name of the signer's Lambda function (module signer): API Gateway may invoke exactly it."
  type        = string
}

variable "lambda_invoke_arn" {
  description = "Invoke ARN of the signer's Lambda function (module signer)."
  type        = string
}

variable "integration_timeout_ms" {
  description = "How long API Gateway waits for the function (HTTP APIs: at most 30000 ms). Keep it at or above the function's timeout."
  type        = number
  default     = 29000

  validation {
    condition     = var.integration_timeout_ms >= 50 && var.integration_timeout_ms <= 30000
    error_message = "integration_timeout_ms must be between 50 and 30000."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second allowed on each IAM route (stage default)."
  type        = number
  default     = 100

  validation {
    condition     = var.throttling_rate_limit > 0
    error_message = "throttling_rate_limit must be positive."
  }
}

variable "throttling_burst_limit" {
  description = "Burst of requests allowed on each IAM route (stage default)."
  type        = number
  default     = 200

  validation {
    condition     = var.throttling_burst_limit > 0 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a positive integer."
  }
}

variable "public_throttling_rate_limit" {
  description = "Requests per second allowed on each unauthenticated route (JWKS, OIDC discovery, CRL): these answer from memory, but every request is a Lambda invocation, so keep them low and let clients cache (Cache-Control is set)."
  type        = number
  default     = 20
}

variable "public_throttling_burst_limit" {
  description = "Burst allowed on each unauthenticated route."
  type        = number
  default     = 40
}

variable "log_retention_days" {
  description = "Retention of the API Gateway access log groups."
  type        = number
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's retention values."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key for the access log groups, or null for CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "domain_name" {
  description = "Custom domain of the main API (IAM routes and the public routes), e.g. \"pki.example.com\"; null for none (then the execute-api endpoint is used). The CRL URL and the JWT issuer in hsmsignd's config should be on this domain."
  type        = string
  default     = null

  validation {
    condition     = var.domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name."
  }
}

variable "device_domain_name" {
  description = "Custom domain with mutual TLS for devices, e.g. \"device.pki.example.com\": serves only POST /v1/tokens without IAM, for clients presenting a certificate this service issued. Null for no device API."
  type        = string
  default     = null

  validation {
    condition     = var.device_domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.device_domain_name))
    error_message = "device_domain_name must be a lower-case DNS name."
  }
}

variable "certificate_arn" {
  description = "ACM certificate (same region) covering domain_name and device_domain_name, or null to request one here with DNS validation in route53_zone_id."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone for the custom domains: DNS validation of a certificate requested here, and alias records to API Gateway. Null to manage DNS elsewhere (outputs give the targets)."
  type        = string
  default     = null
}

variable "truststore_pem" {
  description = "PEM bundle API Gateway verifies device certificates against (truststore.pem from the key ceremony: the issuing CA and the root). Required with device_domain_name."
  type        = string
  default     = null

  validation {
    condition     = var.truststore_pem == null || (can(regex("-----BEGIN CERTIFICATE-----", var.truststore_pem)) && !can(regex("PRIVATE KEY", var.truststore_pem)))
    error_message = "truststore_pem must be PEM certificates without a private key."
  }
}

variable "disable_execute_api_endpoint" {
  description = "Turn off the main API's default execute-api endpoint so that only the custom domain answers. Only with domain_name. (The device API's default endpoint is always off: it would bypass mTLS.)"
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
