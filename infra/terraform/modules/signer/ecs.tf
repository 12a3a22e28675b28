# The same image as an ECS Fargate service (var.create_ecs_service), with the plain container
# entrypoint instead of the Lambda bootstrap: hsmsignd serves HTTP itself on
# 0.0.0.0:ecs_container_port (HSMSIGN_LISTEN). In container mode hsmsignd authenticates callers
# itself (auth.sigv4 access keys or auth.mtls behind a trusted proxy, api/api_config.h), so the
# service normally gets its own configuration: the jwks module's config_ecs parameter, falling
# back to the Lambda configuration (which then serves only the public routes).
#
# The root file system stays writable: the entrypoint writes runtime_dir (under /tmp, which is
# world-writable in the image) and Fargate bind-mount volumes are owned by root, which the
# image's non-root user could not write. Everything else is as locked down as Fargate allows:
# non-root user, all capabilities dropped, no public IP, no ECS Exec.

locals {
  ecs_config_parameter = try(var.ssm_parameter_names["config_ecs"], var.ssm_parameter_names["config"], null)
  ecs_cpu_architecture = var.architecture == "arm64" ? "ARM64" : "X86_64"
  ecs_environment = merge(
    local.environment,
    local.ecs_config_parameter == null ? {} : { HSMSIGN_SSM_CONFIG = local.ecs_config_parameter },
    {
      HSMSIGN_LISTEN = "0.0.0.0:${var.ecs_container_port}"
      AWS_REGION     = local.region
    },
  )
}

resource "aws_cloudwatch_log_group" "ecs" {
  count = var.create_ecs_service ? 1 : 0

  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_ecs_cluster" "this" {
  count = var.create_ecs_service ? 1 : 0

  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = var.tags
}

data "aws_iam_policy_document" "assume_ecs_tasks" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Task role: what hsmsignd and its entrypoint may do (the same data access as the Lambda role).
resource "aws_iam_role" "ecs_task" {
  count = var.create_ecs_service ? 1 : 0

  name               = "${var.name}-task"
  description        = "hsmsignd Fargate task"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json

  tags = var.tags
}

resource "aws_iam_role_policy" "ecs_task" {
  count = var.create_ecs_service ? 1 : 0

  name   = "hsmsignd"
  role   = aws_iam_role.ecs_task[0].id
  policy = data.aws_iam_policy_document.data_access.json
}

# Execution role: what the ECS agent needs to start the task (pull this repository, write logs).
data "aws_iam_policy_document" "ecs_execution" {
  count = var.create_ecs_service ? 1 : 0

  statement {
    sid       = "EcrAuth"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }

  statement {
    sid       = "EcrPull"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    resources = [aws_ecr_repository.this.arn]
  }

  statement {
    sid       = "OwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.ecs[0].arn}:*"]
  }
}

resource "aws_iam_role" "ecs_execution" {
  count = var.create_ecs_service ? 1 : 0

  name               = "${var.name}-execution"
  description        = "ECS agent for the hsmsignd Fargate task"
  assume_role_policy = data.aws_iam_policy_document.assume_ecs_tasks.json

  tags = var.tags
}

resource "aws_iam_role_policy" "ecs_execution" {
  count = var.create_ecs_service ? 1 : 0

  name   = "ecs-agent"
  role   = aws_iam_role.ecs_execution[0].id
  policy = data.aws_iam_policy_document.ecs_execution[0].json
}

resource "aws_ecs_task_definition" "this" {
  count = local.create_ecs ? 1 : 0

  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.ecs_cpu)
  memory                   = tostring(var.ecs_memory_mb)
  task_role_arn            = aws_iam_role.ecs_task[0].arn
  execution_role_arn       = aws_iam_role.ecs_execution[0].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = local.ecs_cpu_architecture
  }

  container_definitions = jsonencode([{
    name      = "hsmsignd"
    image     = local.image_uri
    essential = true

    # The plain container entrypoint (the image's ENTRYPOINT is the Lambda one).
    entryPoint = ["/usr/local/bin/hsmsign-entrypoint"]
    command    = []

    environment  = [for k in sort(keys(local.ecs_environment)) : { name = k, value = local.ecs_environment[k] }]
    portMappings = [{ containerPort = var.ecs_container_port, protocol = "tcp" }]

    readonlyRootFilesystem = false
    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { drop = ["ALL"] }
    }

    healthCheck = {
      command     = ["CMD-SHELL", "curl -fsS -o /dev/null http://127.0.0.1:${var.ecs_container_port}/healthz || exit 1"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }

    stopTimeout = 30

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.ecs[0].name
        "awslogs-region"        = local.region
        "awslogs-stream-prefix" = "hsmsignd"
      }
    }
  }])

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.pin_secret_arn != null && local.ecs_config_parameter != null && length(var.hsm_ip_addresses) >= 1
      error_message = "The Fargate service needs pin_secret_arn, a published config and hsm_ip_addresses."
    }
  }
}

resource "aws_vpc_security_group_ingress_rule" "ecs" {
  for_each = var.create_ecs_service ? var.ecs_ingress_security_group_ids : {}

  security_group_id            = var.security_group_id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = var.ecs_container_port
  to_port                      = var.ecs_container_port
  description                  = "hsmsignd container port from ${each.key}"

  tags = var.tags
}

resource "aws_ecs_service" "this" {
  count = local.create_ecs ? 1 : 0

  name             = var.name
  cluster          = aws_ecs_cluster.this[0].id
  task_definition  = aws_ecs_task_definition.this[0].arn
  desired_count    = var.ecs_desired_count
  launch_type      = "FARGATE"
  platform_version = "1.4.0"
  propagate_tags   = "SERVICE"

  enable_execute_command             = false
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = var.ecs_target_group_arn == null ? [] : [var.ecs_target_group_arn]

    content {
      target_group_arn = load_balancer.value
      container_name   = "hsmsignd"
      container_port   = var.ecs_container_port
    }
  }

  tags = var.tags
}
