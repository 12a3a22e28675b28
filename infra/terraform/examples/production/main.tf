# hsmsign in production: CloudHSM, Lambda behind API Gateway, DynamoDB inventory.
#
# Two phases (var.deploy_service), because a CloudHSM cluster must be initialised and activated
# by people before anything can use it (modules/cloudhsm/main.tf lists what Terraform cannot do):
#
#   phase 1  deploy_service = false
#            terraform apply            -> VPC and endpoints, CloudHSM cluster + HSMs, inventory
#                                          table, ECR repository
#            initialise and activate the cluster, create the crypto user, put "CU_user:password"
#            into a Secrets Manager secret, run the key ceremony (docs/ceremony.md), copy
#            jwks.json, truststore.pem and customerCA.crt to ./ceremony/, build and push the
#            image (infra/docker/Dockerfile)
#   phase 2  deploy_service = true, image_digest, pin_secret_arn, ca_key_uri, domain_name
#            terraform apply            -> the published parameters, the Lambda function and the
#                                          API (and the Fargate service with enable_ecs)
#
# Later: a JWT key rotation or a new intermediate changes the files in ./ceremony/; the next apply
# republishes them and, through the parameters' revision, restarts the signer.

locals {
  runtime_dir      = "/tmp/hsmsign" # the entrypoint's HSMSIGN_RUNTIME_DIR: the paths below live there
  parameter_prefix = "/${var.name}"
  base_url         = var.domain_name == null ? "" : "https://${var.domain_name}"

  inventory_config = var.inventory_config != null ? var.inventory_config : {
    dynamodb = {
      table  = module.inventory.table_name
      region = var.region
    }
  }

  # hsmsignd's configuration (api/api_config.h). No secret: the PIN is read from the environment
  # variable token.pin_env, which the entrypoint fills from Secrets Manager.
  service_config = {
    token = {
      module    = "/opt/cloudhsm/lib/libcloudhsm_pkcs11.so"
      label     = var.hsm_token_label
      pin_env   = "HSMSIGN_CU_PIN"
      pool_size = var.token_pool_size
      wait_ms   = 5000
    }
    ca = {
      key                = var.ca_key_uri == null ? "" : var.ca_key_uri
      chain_file         = "${local.runtime_dir}/truststore.pem"
      default_ttl_hours  = var.cert_default_ttl_hours
      max_ttl_hours      = var.cert_max_ttl_hours
      crl_url            = "${local.base_url}/v1/crl"
      crl_validity_hours = var.crl_validity_hours
    }
    inventory = local.inventory_config
    jwt = merge(
      {
        issuer              = local.base_url
        jwks_file           = "${local.runtime_dir}/jwks.json"
        default_ttl_seconds = var.jwt_default_ttl_seconds
        max_ttl_seconds     = var.jwt_max_ttl_seconds
      },
      var.jwt_default_alg == null ? {} : { default_alg = var.jwt_default_alg },
    )
    policy = var.policy
  }
}

module "network" {
  source = "../../modules/network"

  name            = var.name
  vpc_cidr        = var.vpc_cidr
  private_subnets = var.private_subnets
  tags            = var.tags
}

module "cloudhsm" {
  source = "../../modules/cloudhsm"

  name             = var.name
  subnet_ids_by_az = module.network.private_subnet_ids_by_az
  hsm_type         = var.hsm_type
  mode             = var.hsm_mode
  source_backup_id = var.cloudhsm_source_backup_id
  client_security_group_ids = merge(
    { signer = module.network.signer_security_group_id },
    var.ceremony_security_group_id == null ? {} : { ceremony = var.ceremony_security_group_id },
  )
  tags = var.tags
}

module "inventory" {
  source = "../../modules/inventory"

  table_name = "${var.name}-inventory"
  tags       = var.tags
}

# Phase 2 only: publishing needs the ceremony's files.
module "jwks" {
  source = "../../modules/jwks"
  count  = var.deploy_service ? 1 : 0

  parameter_prefix        = local.parameter_prefix
  jwks_json               = var.deploy_service ? file(var.jwks_file) : null
  truststore_pem          = var.deploy_service ? file(var.truststore_file) : null
  hsm_ca_cert_pem         = var.deploy_service ? file(var.hsm_ca_cert_file) : null
  service_config_json     = jsonencode(local.service_config)
  create_container_config = var.ecs_config_file != null
  container_config_json   = var.ecs_config_file == null ? null : file(var.ecs_config_file)
  tags                    = var.tags
}

module "signer" {
  source = "../../modules/signer"

  name              = var.name
  subnet_ids        = module.network.private_subnet_ids
  security_group_id = module.network.signer_security_group_id
  image_digest      = var.image_digest
  create_lambda     = var.deploy_service
  pin_secret_arn    = var.pin_secret_arn

  ssm_parameter_names = try(module.jwks[0].parameter_names, {})
  ssm_parameter_arns  = try(module.jwks[0].parameter_arns, {})
  config_revision     = try(module.jwks[0].revision, "")
  runtime_dir         = local.runtime_dir

  dynamodb_table_arn  = module.inventory.table_arn
  dynamodb_index_arns = [module.inventory.revoked_index_arn, module.inventory.krl_index_arn]
  hsm_ip_addresses    = module.cloudhsm.hsm_ip_addresses

  lambda_reserved_concurrency = var.lambda_reserved_concurrency
  lambda_memory_mb            = var.lambda_memory_mb
  create_ecs_service          = var.deploy_service && var.enable_ecs
  log_retention_days          = var.log_retention_days
  tags                        = var.tags
}

module "api" {
  source = "../../modules/api"
  count  = var.deploy_service ? 1 : 0

  name                 = var.name
  lambda_function_name = module.signer.lambda_function_name
  lambda_invoke_arn    = module.signer.lambda_invoke_arn
  domain_name          = var.domain_name
  device_domain_name   = var.device_domain_name
  certificate_arn      = var.certificate_arn
  route53_zone_id      = var.route53_zone_id
  truststore_pem       = var.device_domain_name == null ? null : file(var.truststore_file)
  healthz_route        = var.healthz_route
  console_origin       = local.console_origin
  log_retention_days   = var.log_retention_days
  tags                 = var.tags
}

# Phase 2's inputs, checked before anything is created.
resource "terraform_data" "phase2_inputs" {
  count = var.deploy_service ? 1 : 0

  input = var.image_digest

  lifecycle {
    precondition {
      condition     = var.image_digest != null && var.pin_secret_arn != null && var.ca_key_uri != null
      error_message = "deploy_service = true needs image_digest, pin_secret_arn and ca_key_uri."
    }
    precondition {
      condition     = var.domain_name != null
      error_message = "deploy_service = true needs domain_name: it is the JWT issuer and the CRL URL's host, which must not change."
    }
  }
}
