# signer: hsmsignd from one container image (infra/docker/Dockerfile), as
#   - a Lambda function (custom runtime, behind API Gateway: module api), and optionally
#   - an ECS Fargate service (container mode: hsmsignd's own HTTP server) - ecs.tf.
#
# Start-up in both (infra/docker/entrypoint.sh): the entrypoint reads the published parameters
# (HSMSIGN_SSM_*: config, JWKS, truststore, the cluster's customerCA.crt) into runtime_dir,
# configures the CloudHSM client with the HSM addresses, reads the CU PIN from the Secrets
# Manager secret HSMSIGN_PIN_SECRET_ARN into the environment variable the config's token.pin_env
# names (never a file, never argv, never logged) and execs hsmsignd. The image holds no PIN, no
# key and no cluster certificate.
#
# IAM (iam.tf): the signer reads exactly its SSM parameters, its secret and its table (+ the
# GSI); Lambda additionally writes its own log group and manages its VPC ENIs.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  image_uri  = var.image_digest == null ? null : "${aws_ecr_repository.this.repository_url}@${var.image_digest}"

  create_lambda = var.create_lambda && var.image_digest != null
  create_ecs    = var.create_ecs_service && var.image_digest != null

  # The environment shared by both runtimes. No secret is in it: only where to find them.
  environment = merge(
    {
      HSMSIGN_RUNTIME_DIR                             = var.runtime_dir
      HSMSIGN_LOG_LEVEL                               = var.log_level
      HSMSIGN_CONFIG_REVISION                         = var.config_revision
      HSMSIGN_CLOUDHSM_HSM_IPS                        = join(" ", var.hsm_ip_addresses)
      HSMSIGN_CLOUDHSM_DISABLE_KEY_AVAILABILITY_CHECK = var.disable_key_availability_check ? "1" : "0"
    },
    var.pin_secret_arn == null ? {} : { HSMSIGN_PIN_SECRET_ARN = var.pin_secret_arn },
    var.pin_secret_json_key == null ? {} : { HSMSIGN_PIN_SECRET_JSON_KEY = var.pin_secret_json_key },
    { for k in ["jwks", "truststore", "hsm_ca_cert"] : "HSMSIGN_SSM_${upper(k)}" => var.ssm_parameter_names[k] if contains(keys(var.ssm_parameter_names), k) },
  )
  lambda_environment = merge(
    local.environment,
    contains(keys(var.ssm_parameter_names), "config") ? { HSMSIGN_SSM_CONFIG = var.ssm_parameter_names["config"] } : {},
  )
}

# --- ECR -----------------------------------------------------------------------------------------

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = var.ecr_kms_key_arn == null ? "AES256" : "KMS"
    kms_key         = var.ecr_kms_key_arn
  }

  tags = var.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Delete untagged images (tags are immutable: a tagged, deployed digest stays)"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = var.untagged_image_expiry_days
      }
      action = { type = "expire" }
    }]
  })
}

# Lambda pulls the image with the service principal; only this function and the functions named
# after it ("NAME-*": the authorizer, module authorizer) may.
data "aws_iam_policy_document" "ecr" {
  statement {
    sid     = "LambdaImagePull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values = [
        "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}",
        "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${var.name}-*",
      ]
    }
  }
}

resource "aws_ecr_repository_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy     = data.aws_iam_policy_document.ecr.json
}

# --- Lambda --------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "lambda" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_lambda_function" "this" {
  count = local.create_lambda ? 1 : 0

  function_name = var.name
  description   = "hsmsignd: X.509 certificates and JWTs signed on CloudHSM"
  role          = aws_iam_role.lambda.arn
  package_type  = "Image"
  image_uri     = local.image_uri
  architectures = [var.architecture]

  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.lambda_reserved_concurrency

  # provided.al2023's /lambda-entrypoint.sh takes exactly one argument (a handler name, unused by
  # a custom runtime) and execs /var/runtime/bootstrap, which is the entrypoint script.
  image_config {
    command = ["hsmsignd"]
  }

  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = [var.security_group_id]
  }

  environment {
    variables = local.lambda_environment
  }

  logging_config {
    log_format = "Text" # hsmsignd writes JSON lines itself
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  ephemeral_storage {
    size = 512 # MB of /tmp: config, JWKS, truststore, CloudHSM client configuration
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.pin_secret_arn != null
      error_message = "The Lambda function needs pin_secret_arn (the CU PIN secret)."
    }
    precondition {
      condition     = alltrue([for k in ["config", "jwks", "truststore", "hsm_ca_cert"] : contains(keys(var.ssm_parameter_names), k)])
      error_message = "The Lambda function needs the published parameters config, jwks, truststore and hsm_ca_cert (module jwks)."
    }
    precondition {
      condition     = length(var.hsm_ip_addresses) >= 1
      error_message = "The Lambda function needs hsm_ip_addresses (module cloudhsm)."
    }
  }

  # The role's policy must be in place before Lambda validates the VPC configuration
  # (ec2:CreateNetworkInterface) and before the first cold start.
  depends_on = [aws_iam_role_policy.lambda]
}
