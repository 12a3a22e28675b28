variable "name" {
  description = "Name of the REST API (e.g. \"hsmsign-prod-org\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}[a-z0-9]$", var.name))
    error_message = "name: 3-64 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "organization_id" {
  description = "The AWS Organization whose principals may call (o-xxxxxxxxxx): the resource policy's aws:PrincipalOrgID."
  type        = string

  validation {
    condition     = can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))
    error_message = "organization_id must look like o-abcdef1234."
  }
}

variable "lambda_function_name" {
  description = "Name of the signer's Lambda function (module signer)."
  type        = string
}

variable "lambda_invoke_arn" {
  description = "Invoke ARN of the signer's Lambda function (module signer)."
  type        = string
}

variable "iam_routes" {
  description = "The AWS_IAM routes of hsmsignd to publish, \"METHOD /path\" with {param} segments (api/api_route.c)."
  type        = list(string)
  default = [
    "POST /v1/certificates",
    "GET /v1/certificates",
    "GET /v1/certificates/{serial}",
    "POST /v1/certificates/{serial}/revoke",
    "POST /v1/ssh/certificates",
    "GET /v1/ssh/certificates/{serial}",
    "POST /v1/ssh/certificates/{serial}/revoke",
    "POST /v1/ssh/keys",
    "GET /v1/ssh/keys/{request_id}",
    "POST /v1/tokens",
    "GET /v1/whoami",
  ]

  validation {
    condition     = length(var.iam_routes) >= 1 && alltrue([for r in var.iam_routes : can(regex("^(GET|POST|PUT|DELETE|PATCH) /v1(/[a-z0-9._-]+|/\\{[a-z_]+\\})+$", r))])
    error_message = "iam_routes: \"METHOD /v1/...\" with lower-case segments or {param} segments."
  }
}

variable "stage_name" {
  description = "Stage of the REST API (the URL's first path segment; hsmsignd does not see it)."
  type        = string
  default     = "api"
}

variable "integration_timeout_ms" {
  description = "How long API Gateway waits for the function (REST: 50-29000 ms)."
  type        = number
  default     = 29000

  validation {
    condition     = var.integration_timeout_ms >= 50 && var.integration_timeout_ms <= 29000
    error_message = "integration_timeout_ms must be between 50 and 29000."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second allowed per method."
  type        = number
  default     = 100
}

variable "throttling_burst_limit" {
  description = "Burst of requests allowed per method."
  type        = number
  default     = 200
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
