variable "parameter_prefix" {
  description = "SSM parameter path under which the public material is published, e.g. \"/hsmsign/prod\"; the parameters are PREFIX/config, PREFIX/jwks, PREFIX/truststore and PREFIX/hsm-ca-cert (and PREFIX/config-ecs)."
  type        = string

  validation {
    condition     = can(regex("^(/[A-Za-z0-9_.-]+)+$", var.parameter_prefix)) && !can(regex("^/(aws|ssm)", lower(var.parameter_prefix)))
    error_message = "parameter_prefix: a path such as /hsmsign/prod (no trailing '/', not under /aws or /ssm)."
  }
}

variable "jwks_json" {
  description = "The JWK Set the key ceremony maintains (keyceremony jwt-key/export: jwks.json): public keys only. hsmsignd reads it at start as jwt.jwks_file."
  type        = string

  validation {
    condition     = can(jsondecode(var.jwks_json).keys) && try(length(jsondecode(var.jwks_json).keys) >= 1 && length(jsondecode(var.jwks_json).keys) <= 16, false)
    error_message = "jwks_json must be a JWK Set with 1 to 16 keys (docs/ceremony.md)."
  }

  validation {
    # RFC 7518 private members (EC/OKP "d", RSA "d", "p", "q", "dp", "dq", "qi", "oth", oct "k").
    condition = try(alltrue([
      for k in jsondecode(var.jwks_json).keys :
      length(setintersection(keys(k), ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])) == 0
    ]), false)
    error_message = "jwks_json contains private key members: publish public keys only."
  }

  validation {
    condition     = length(var.jwks_json) <= 8192
    error_message = "jwks_json is larger than 8 KB, the limit of an advanced SSM parameter: retire old keys (keyceremony jwt-key retire)."
  }
}

variable "truststore_pem" {
  description = "truststore.pem from keyceremony export (the issuing CA, then the root): hsmsignd's ca.chain_file."
  type        = string

  validation {
    condition     = can(regex("-----BEGIN CERTIFICATE-----", var.truststore_pem)) && !can(regex("PRIVATE KEY", var.truststore_pem)) && length(var.truststore_pem) <= 8192
    error_message = "truststore_pem must be PEM certificates (no private key), at most 8 KB."
  }
}

variable "hsm_ca_cert_pem" {
  description = "The CloudHSM cluster's customerCA.crt (the CA that signed the cluster certificate at initialisation): the client SDK verifies the HSMs with it. Public; supplied at deploy time, never baked into the image."
  type        = string

  validation {
    condition     = can(regex("-----BEGIN CERTIFICATE-----", var.hsm_ca_cert_pem)) && !can(regex("PRIVATE KEY", var.hsm_ca_cert_pem)) && length(var.hsm_ca_cert_pem) <= 8192
    error_message = "hsm_ca_cert_pem must be a PEM certificate (no private key), at most 8 KB."
  }
}

variable "service_config_json" {
  description = "hsmsignd's configuration (api/api_config.h) as JSON, for the Lambda runtime. It must name the PIN by environment variable (token.pin_env; the entrypoint fills it from Secrets Manager) and may hold no secret: the parameter is a plain String."
  type        = string

  validation {
    condition     = can(jsondecode(var.service_config_json).token) && try(jsondecode(var.service_config_json).token.pin_env != "", false) && !can(jsondecode(var.service_config_json).token.pin_file)
    error_message = "service_config_json must be a JSON object whose token block has pin_env (and no pin_file)."
  }

  validation {
    condition     = length(var.service_config_json) <= 8192
    error_message = "service_config_json is larger than 8 KB, the limit of an advanced SSM parameter."
  }
}

variable "container_config_json" {
  description = "A separate hsmsignd configuration for the ECS Fargate service (container mode authenticates callers itself: auth.sigv4 or auth.mtls with a trusted proxy), or null to use service_config_json there too. Same rules as service_config_json."
  type        = string
  default     = null

  validation {
    condition     = var.container_config_json == null || try(jsondecode(var.container_config_json).token.pin_env != "" && !can(jsondecode(var.container_config_json).token.pin_file) && length(var.container_config_json) <= 8192, false)
    error_message = "container_config_json must be null or a JSON object (at most 8 KB) whose token block has pin_env and no pin_file."
  }
}

variable "create_container_config" {
  description = "Whether to publish container_config_json as PREFIX/config-ecs. A separate flag because the value may be unknown at plan time."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
