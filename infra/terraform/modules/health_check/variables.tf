variable "name" {
  description = "Name prefix of the health checks and alarms (e.g. \"hsmsign-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,62}[a-z0-9]$", var.name))
    error_message = "name: 3-64 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "endpoints" {
  description = "What to check, by a static name => the DNS name served over HTTPS (e.g. { main = \"pki.example.com\" }). Not an mTLS domain: Route 53's checkers present no client certificate."
  type        = map(string)

  validation {
    condition     = length(var.endpoints) >= 1 && alltrue([for k, v in var.endpoints : can(regex("^[a-z0-9_-]{1,32}$", k)) && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", v))])
    error_message = "endpoints: at least one; keys of 1-32 lower-case letters, digits, '_' or '-'; values lower-case DNS names."
  }
}

variable "resource_path" {
  description = "Path requested by the checkers (hsmsignd: /healthz)."
  type        = string
  default     = "/healthz"

  validation {
    condition     = startswith(var.resource_path, "/")
    error_message = "resource_path must start with '/'."
  }
}

variable "request_interval_seconds" {
  description = "Seconds between two requests of one checker: 30 (standard) or 10 (fast, billed extra)."
  type        = number
  default     = 30

  validation {
    condition     = contains([10, 30], var.request_interval_seconds)
    error_message = "request_interval_seconds must be 10 or 30."
  }
}

variable "failure_threshold" {
  description = "Consecutive failures (1-10) before a checker calls the endpoint unhealthy."
  type        = number
  default     = 3

  validation {
    condition     = var.failure_threshold >= 1 && var.failure_threshold <= 10
    error_message = "failure_threshold must be between 1 and 10."
  }
}

variable "checker_regions" {
  description = "Regions Route 53 checks from (at least 3 of its checker regions), or null for all of them. Every checker request is a Lambda invocation of hsmsignd."
  type        = list(string)
  default     = null

  validation {
    condition     = var.checker_regions == null || try(length(var.checker_regions) >= 3, false)
    error_message = "checker_regions: null or at least three regions."
  }
}

variable "alarm_evaluation_periods" {
  description = "Minutes the health check must be failing before the alarm fires."
  type        = number
  default     = 2

  validation {
    condition     = var.alarm_evaluation_periods >= 1 && var.alarm_evaluation_periods <= 60
    error_message = "alarm_evaluation_periods must be between 1 and 60."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm fires and when it clears: SNS topics in us-east-1 (where the alarms are)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:us-east-1:[0-9]{12}:.+$", a))])
    error_message = "alarm_actions must be SNS topic ARNs in us-east-1."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
