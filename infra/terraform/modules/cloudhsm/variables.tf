variable "name" {
  description = "Name prefix for tags and descriptions (e.g. \"hsmsign-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "subnet_ids_by_az" {
  description = "Private subnet ID per availability zone. The cluster spans these subnets and gets one HSM in each: at least two AZs for production, three for the durability of newly generated keys (docs/cloudhsm.md)."
  type        = map(string)

  validation {
    condition     = length(var.subnet_ids_by_az) >= 2
    error_message = "subnet_ids_by_az: at least two availability zones (SDK 5 refuses token keys that exist on only one HSM)."
  }
}

variable "hsm_type" {
  description = "HSM type of the cluster. hsm2m.medium is required for Ed25519 (and then only in NON_FIPS mode, docs/cloudhsm.md)."
  type        = string
  default     = "hsm2m.medium"

  validation {
    condition     = contains(["hsm1.medium", "hsm2m.medium"], var.hsm_type)
    error_message = "hsm_type must be hsm1.medium or hsm2m.medium."
  }
}

variable "mode" {
  description = "Cluster mode for hsm2m.medium: FIPS or NON_FIPS (ignored for hsm1.medium, which is always FIPS). It cannot be changed after creation."
  type        = string
  default     = "FIPS"

  validation {
    condition     = contains(["FIPS", "NON_FIPS"], var.mode)
    error_message = "mode must be FIPS or NON_FIPS."
  }
}

variable "source_backup_id" {
  description = "ID of a CloudHSM backup to create the cluster from (restores the users and keys of that backup), or null for a new, uninitialised cluster."
  type        = string
  default     = null

  validation {
    condition     = var.source_backup_id == null || can(regex("^backup-[a-z0-9]+$", var.source_backup_id))
    error_message = "source_backup_id must look like backup-abcdefghijk."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to reach the HSMs on TCP 2223-2225, keyed by a static name (e.g. { signer = ..., ceremony = ... }): the signer's, plus, while a key ceremony runs, the ceremony host's. Nothing else is allowed in. A map, so that the keys are known at plan time while the IDs may not be."
  type        = map(string)

  validation {
    condition     = length(var.client_security_group_ids) >= 1
    error_message = "client_security_group_ids: at least one security group."
  }
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
