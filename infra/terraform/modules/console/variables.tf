variable "name" {
  description = "Name prefix of the bucket, the distribution's policies, the user pool, the identity pool and the role (e.g. \"hsmsign-prod-console\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "api_base_url" {
  description = "Origin of hsmsign's API the console calls, e.g. \"https://pki.example.com\" (the api module's custom domain): config.json's api_base and a connect-src origin of the CSP. Scheme https, host and optional port, no path and no trailing '/'."
  type        = string

  validation {
    condition     = can(regex("^https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}(:[0-9]{1,5})?$", var.api_base_url))
    error_message = "api_base_url must be an https origin such as https://pki.example.com (lower case, no path, no trailing '/')."
  }
}

variable "api_region" {
  description = "Region of the API (the SigV4 credential scope's region in config.json), or null for this provider's region."
  type        = string
  default     = null

  validation {
    condition     = var.api_region == null || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.api_region))
    error_message = "api_region must be an AWS region name such as eu-central-1."
  }
}

variable "api_execution_arns" {
  description = "Execution ARNs of the APIs the console calls (module api, output execution_arn; a list so that its length is known at plan time): the console role may call execute-api:Invoke on them, nothing else. Empty to grant nothing here (then managed_policy_arns must grant it)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.api_execution_arns : can(regex("^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[0-9]{12}:[a-z0-9]+$", a))])
    error_message = "api_execution_arns must be APIs' execution ARNs (arn:aws:execute-api:REGION:ACCOUNT:API_ID)."
  }
}

variable "dist_dir" {
  description = "Directory of the built console (console/build.sh writes console/dist): every file under it is uploaded, except a config.json, which this module generates. Must contain index.html."
  type        = string
}

variable "domain_name" {
  description = "Custom domain of the console, e.g. \"console.pki.example.com\"; null to use the distribution's *.cloudfront.net name. Only with a custom domain does CloudFront enforce TLS 1.2 (the default certificate's security policy is TLSv1)."
  type        = string
  default     = null

  validation {
    condition     = var.domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}$", var.domain_name))
    error_message = "domain_name must be a lower-case DNS name."
  }
}

variable "certificate_arn" {
  description = "ACM certificate in us-east-1 for domain_name, or null to request one here (provider aws.us_east_1) with DNS validation in route53_zone_id."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/[0-9a-f-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN in us-east-1 (CloudFront's region for certificates)."
  }
}

variable "route53_zone_id" {
  description = "Route 53 hosted zone of domain_name: DNS validation of a certificate requested here and the A/AAAA alias records to the distribution. Null to manage DNS elsewhere (output distribution_domain_name is the target)."
  type        = string
  default     = null
}

variable "user_pool_domain_prefix" {
  description = "Prefix of the Cognito hosted UI domain: PREFIX.auth.REGION.amazoncognito.com (globally unique per region; must not contain \"aws\", \"amazon\" or \"cognito\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", var.user_pool_domain_prefix)) && !can(regex("aws|amazon|cognito", var.user_pool_domain_prefix))
    error_message = "user_pool_domain_prefix: lower-case letters, digits and '-' (at most 63), without \"aws\", \"amazon\" or \"cognito\"."
  }
}

variable "mfa_configuration" {
  description = "Cognito MFA for console users: \"ON\" (TOTP required, the default: the console can issue and revoke certificates) or \"OPTIONAL\"."
  type        = string
  default     = "ON"

  validation {
    condition     = contains(["ON", "OPTIONAL"], var.mfa_configuration)
    error_message = "mfa_configuration must be \"ON\" or \"OPTIONAL\"."
  }
}

variable "session_minutes" {
  description = "Lifetime in minutes of the user pool's ID and access tokens (5-1440); the identity pool's credentials last one hour each and the console asks again with the ID token while it is valid."
  type        = number
  default     = 60

  validation {
    condition     = var.session_minutes >= 5 && var.session_minutes <= 1440 && floor(var.session_minutes) == var.session_minutes
    error_message = "session_minutes must be an integer from 5 to 1440."
  }
}

variable "managed_policy_arns" {
  description = "Further managed IAM policies attached to the console role (the principal every console user acts as), e.g. one granting execute-api:Invoke on the organization's REST API."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.managed_policy_arns : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a))])
    error_message = "managed_policy_arns must be IAM policy ARNs."
  }
}

variable "price_class" {
  description = "CloudFront price class (PriceClass_100, PriceClass_200 or PriceClass_All)."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "hsts_max_age_seconds" {
  description = "Strict-Transport-Security max-age in seconds (includeSubDomains is not set: the console's domain need not speak for its siblings)."
  type        = number
  default     = 31536000

  validation {
    condition     = var.hsts_max_age_seconds >= 86400
    error_message = "hsts_max_age_seconds must be at least one day (86400)."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy delete the bucket with its objects (all versions). Off by default."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
