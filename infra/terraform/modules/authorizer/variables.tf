variable "name" {
  description = "Name of the authorizer function, its IAM role and log group (e.g. \"hsmsign-prod-authorizer\"). The signer's ECR repository lets Lambda pull for functions named after the signer (\"SIGNER-*\"), so start it with the signer's name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}[a-z0-9]$", var.name))
    error_message = "name: 3-64 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "image_uri" {
  description = "The hsmsign image by digest, REPOSITORY_URL@sha256:... (module signer's ECR repository and the digest its Lambda runs): the same image as hsmsignd."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com[a-z.]*/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$", var.image_uri))
    error_message = "image_uri must be an ECR image pinned by digest: ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO@sha256:<64 hex>."
  }
}

variable "architecture" {
  description = "CPU architecture of the image: x86_64 or arm64 (as the signer's)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "memory_mb" {
  description = "Memory of the function in MB (CPU grows with it). An ES256 verification costs about 80 microseconds of CPU (docs/authorizer.md, Figures)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_mb >= 128 && var.memory_mb <= 10240
    error_message = "memory_mb must be between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Timeout of one invocation in seconds. JWKS and status fetches have 2 s connect and 5 s total timeouts; API Gateway waits at most 10 s (REST) for an authorizer."
  type        = number
  default     = 5

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 10
    error_message = "timeout_seconds must be between 1 and 10."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of the function (-1: unreserved). Bounds the SSM GetParameter and DynamoDB GetItem rate a flood of requests can cause."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency == -1 || (var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency)
    error_message = "reserved_concurrency must be -1 or a positive integer."
  }
}

variable "issuer" {
  description = "The tokens' iss, exactly as hsmsignd's jwt.issuer (e.g. \"https://pki.example.com\")."
  type        = string

  validation {
    condition     = can(regex("^https://[^\\s]+$", var.issuer))
    error_message = "issuer must be an https:// URL."
  }
}

variable "audiences" {
  description = "Accepted aud values (1-16): a token's aud must be exactly one of them."
  type        = list(string)

  validation {
    condition     = length(var.audiences) >= 1 && length(var.audiences) <= 16 && alltrue([for a in var.audiences : length(a) > 0])
    error_message = "audiences: 1 to 16 non-empty strings."
  }
}

variable "algorithms" {
  description = "Allow-list of the header's alg: a subset of RS256, PS256, ES256, ES384, EdDSA (none and HMAC cannot be configured)."
  type        = list(string)
  default     = ["ES256", "RS256"]

  validation {
    condition     = length(var.algorithms) >= 1 && alltrue([for a in var.algorithms : contains(["RS256", "PS256", "ES256", "ES384", "EdDSA"], a)])
    error_message = "algorithms: one or more of RS256, PS256, ES256, ES384, EdDSA."
  }
}

variable "leeway_seconds" {
  description = "Clock skew allowed on exp, nbf and iat, in seconds (0-60)."
  type        = number
  default     = 60

  validation {
    condition     = var.leeway_seconds >= 0 && var.leeway_seconds <= 60
    error_message = "leeway_seconds must be between 0 and 60."
  }
}

variable "wildcard_resource" {
  description = "REST APIs: Allow on API-ID/STAGE/* instead of the method ARN, so that a cached answer (authorizer result TTL > 0) covers every method of the stage. Set it whenever the REST authorizer caches."
  type        = bool
  default     = false
}

variable "jwks_parameter_name" {
  description = "Name of the SSM parameter holding hsmsign's JWKS (module jwks, parameter_names[\"jwks\"])."
  type        = string

  validation {
    condition     = startswith(var.jwks_parameter_name, "/")
    error_message = "jwks_parameter_name must be a parameter name starting with '/'."
  }
}

variable "jwks_parameter_arn" {
  description = "ARN of the same parameter (module jwks, parameter_arns[\"jwks\"]): the only parameter the function may read."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$", var.jwks_parameter_arn))
    error_message = "jwks_parameter_arn must be an SSM parameter ARN."
  }
}

variable "jwks_max_age_seconds" {
  description = "How long a fetched JWKS is used before it is read again (0-86400 s). A rotation's new key is also picked up at once by the refresh on an unknown kid."
  type        = number
  default     = 300

  validation {
    condition     = var.jwks_max_age_seconds >= 0 && var.jwks_max_age_seconds <= 86400
    error_message = "jwks_max_age_seconds must be between 0 and 86400."
  }
}

variable "jwks_refresh_seconds" {
  description = "At most one refetch per this many seconds on an unknown kid (1-3600)."
  type        = number
  default     = 30

  validation {
    condition     = var.jwks_refresh_seconds >= 1 && var.jwks_refresh_seconds <= 3600
    error_message = "jwks_refresh_seconds must be between 1 and 3600."
  }
}

variable "jwks_max_stale_seconds" {
  description = "When reading the JWKS fails, the last good set is used until it is this old (0-604800 s); then every token is denied."
  type        = number
  default     = 86400

  validation {
    condition     = var.jwks_max_stale_seconds >= 0 && var.jwks_max_stale_seconds <= 604800
    error_message = "jwks_max_stale_seconds must be between 0 and 604800."
  }
}

variable "mtls" {
  description = "Certificate status checks for mTLS APIs, or null. Exactly one of dynamodb_table_name (the inventory table: GetItem) and status_url (hsmsignd's base URL: GET /v1/certificates/{serial}, SigV4). require_cnf: every request must carry a client certificate and a token bound to it; cache_seconds: how long a status is reused (0-3600)."
  type = object({
    dynamodb_table_name = optional(string)
    status_url          = optional(string)
    require_cnf         = optional(bool)
    cache_seconds       = optional(number)
  })
  default = null

  validation {
    condition     = var.mtls == null ? true : (var.mtls.cache_seconds == null ? true : (var.mtls.cache_seconds >= 0 && var.mtls.cache_seconds <= 3600))
    error_message = "mtls.cache_seconds must be between 0 and 3600."
  }
}

variable "inventory_table_arn" {
  description = "ARN of the inventory table (module inventory), with mtls.dynamodb_table_name: the function may GetItem certificate items of exactly this table."
  type        = string
  default     = null

  validation {
    condition     = var.inventory_table_arn == null || can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+$", var.inventory_table_arn))
    error_message = "inventory_table_arn must be a DynamoDB table ARN."
  }
}

variable "kms_key_arns" {
  description = "Customer managed KMS key of the inventory table, if any (used only via DynamoDB)."
  type        = list(string)
  default     = []
}

variable "status_api_execution_arn" {
  description = "Execution ARN of hsmsignd's API (module api, execution_arn), with mtls.status_url: the function may invoke GET /v1/certificates/* there and nothing else."
  type        = string
  default     = null
}

variable "routes" {
  description = "Scopes required per route, \"METHOD /path\" => [scopes] (every listed scope must be granted by the token). A route not listed needs no scope."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for r in keys(var.routes) : can(regex("^[A-Z]+ /", r))])
    error_message = "routes: keys are \"METHOD /path\", e.g. \"GET /hello\"."
  }
}

variable "api_gateway_source_arns" {
  description = "Who may invoke the function, by a static name => the API Gateway source ARN (REST: EXECUTION_ARN/authorizers/AUTHORIZER_ID; HTTP API: EXECUTION_ARN/authorizers/AUTHORIZER_ID). Nothing else may: whoever can invoke an authorizer can probe tokens with it."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.api_gateway_source_arns : can(regex("^[A-Za-z0-9_-]{1,40}$", k)) && can(regex("^arn:aws[a-z-]*:execute-api:", v))])
    error_message = "api_gateway_source_arns: keys of 1-40 letters, digits, '_' or '-'; values execute-api ARNs."
  }
}

variable "log_level" {
  description = "HSMSIGN_LOG_LEVEL of the authorizer."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group (one decision line per request: keep it as long as your audit policy asks)."
  type        = number
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's retention values."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key for the log group, or null for CloudWatch's default encryption."
  type        = string
  default     = null
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary for the function's role, or null."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
