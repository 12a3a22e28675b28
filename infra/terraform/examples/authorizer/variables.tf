variable "region" {
  description = "AWS region of the APIs and the authorizer (the same as examples/production's)."
  type        = string
}

variable "name" {
  description = "Name prefix of everything here; the authorizer function is NAME-authorizer, so use the signer's name (examples/production var.name) for the image pull permission to cover it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "ecr_repository_url" {
  description = "The signer's ECR repository (examples/production output ecr_repository_url)."
  type        = string
}

variable "image_digest" {
  description = "Digest of the hsmsign image (sha256:...), the same the signer runs: the image holds both programs."
  type        = string

  validation {
    condition     = can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256: followed by 64 hex digits."
  }
}

variable "architecture" {
  description = "CPU architecture of the image: x86_64 or arm64."
  type        = string
  default     = "x86_64"
}

variable "issuer" {
  description = "hsmsignd's JWT issuer (https://DOMAIN of the main API): the tokens' iss, and the base of the OIDC discovery the HTTP API's JWT authorizer reads."
  type        = string
}

variable "audiences" {
  description = "Accepted aud values: what callers request from POST /v1/tokens for this API (e.g. \"https://hello.example.com\")."
  type        = list(string)
}

variable "algorithms" {
  description = "Algorithms hsmsign-authorizer accepts (subset of RS256, PS256, ES256, ES384, EdDSA)."
  type        = list(string)
  default     = ["ES256", "RS256"]
}

variable "jwks_parameter_name" {
  description = "SSM parameter with hsmsign's JWKS (examples/production output parameter_names[\"jwks\"])."
  type        = string
}

variable "jwks_parameter_arn" {
  description = "ARN of that parameter (module jwks output parameter_arns[\"jwks\"])."
  type        = string
}

variable "inventory_table_name" {
  description = "The inventory table (examples/production output inventory_table_name) for mTLS certificate status checks, or null for none (no client certificates on this API)."
  type        = string
  default     = null
}

variable "inventory_table_arn" {
  description = "ARN of the inventory table, with inventory_table_name."
  type        = string
  default     = null
}

variable "inventory_kms_key_arns" {
  description = "Customer managed KMS key of the inventory table, if any."
  type        = list(string)
  default     = []
}

variable "require_client_certificate" {
  description = "With inventory_table_name: every request must carry a client certificate and a token bound to it (an mTLS custom domain in front of the REST API, REQUEST authorizer)."
  type        = bool
  default     = false
}

variable "rest_authorizer_type" {
  description = "TOKEN (the Authorization header only) or REQUEST (the whole request: needed for mTLS, so that the client certificate reaches the authorizer)."
  type        = string
  default     = "TOKEN"

  validation {
    condition     = contains(["TOKEN", "REQUEST"], var.rest_authorizer_type)
    error_message = "rest_authorizer_type must be TOKEN or REQUEST."
  }
}

variable "authorizer_cache_seconds" {
  description = "REST authorizer result cache TTL (0-3600 s), keyed on the Authorization header; above 0 the authorizer answers with the stage wildcard. A revoked device stays allowed for up to this long plus the status cache: keep it short with mTLS."
  type        = number
  default     = 300

  validation {
    condition     = var.authorizer_cache_seconds >= 0 && var.authorizer_cache_seconds <= 3600
    error_message = "authorizer_cache_seconds must be between 0 and 3600."
  }
}

variable "hello_scopes" {
  description = "Scopes GET /hello requires (both authorizers), e.g. [\"read\"]; empty for none."
  type        = list(string)
  default     = []
}

variable "rest_stage_name" {
  description = "Stage of the REST API."
  type        = string
  default     = "v1"
}

variable "throttling_rate_limit" {
  description = "Requests per second allowed on /hello (both APIs)."
  type        = number
  default     = 50
}

variable "throttling_burst_limit" {
  description = "Burst allowed on /hello (both APIs)."
  type        = number
  default     = 100
}

variable "create_http_api" {
  description = "Also publish GET /hello on an HTTP API with a JWT authorizer (hsmsign's OIDC discovery at the issuer)."
  type        = bool
  default     = true
}

variable "hsmsign_domain_name" {
  description = "hsmsign's main custom domain (examples/production var.domain_name, with the api module's healthz_route on) to health-check over HTTPS at /healthz; null for no health checks."
  type        = string
  default     = null
}

variable "alarm_topic_arn" {
  description = "Existing SNS topic in us-east-1 for the health alarms; null to create one here."
  type        = string
  default     = null
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the created alarm topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the authorizer's log group."
  type        = number
  default     = 400
}
