variable "name" {
  description = "Name of the signer: Lambda function, ECR repository, ECS cluster/service and IAM roles are named after it (e.g. \"hsmsign-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name: 3-32 characters, lower-case letters, digits and '-', starting with a letter."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the Lambda ENIs and the Fargate tasks (module network)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids: at least two subnets in different AZs."
  }
}

variable "security_group_id" {
  description = "The signer's security group (module network): egress to the VPC endpoints and the HSMs only."
  type        = string
}

variable "image_digest" {
  description = "Digest of the hsmsign image in this module's ECR repository (sha256:...), as printed by `docker push`. Deployments pin the digest, never a tag. Null until the first image is pushed (then neither the Lambda function nor the Fargate service is created)."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be sha256: followed by 64 hex digits."
  }
}

variable "architecture" {
  description = "CPU architecture of the image: x86_64 or arm64 (the CloudHSM client RPM and the image must match)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be x86_64 or arm64."
  }
}

variable "create_lambda" {
  description = "Whether to create the Lambda function (needs image_digest, pin_secret_arn and the published parameters)."
  type        = bool
  default     = true
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the Lambda function: the most execution environments at once. Each is one CloudHSM client connection (at most 900 per cluster, shared with every other client) holding up to token.pool_size sessions."
  type        = number
  default     = 20

  validation {
    condition     = var.lambda_reserved_concurrency >= 1 && var.lambda_reserved_concurrency <= 900 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency
    error_message = "lambda_reserved_concurrency must be an integer from 1 to 900 (the CloudHSM connection quota)."
  }
}

variable "lambda_timeout_seconds" {
  description = "Timeout of one invocation. API Gateway HTTP APIs wait at most 30 s for an integration."
  type        = number
  default     = 15

  validation {
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 30
    error_message = "lambda_timeout_seconds must be between 3 and 30 (the API Gateway integration limit)."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of the Lambda function in MB (CPU grows with it; 1769 MB is one full vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = var.lambda_memory_mb >= 256 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 256 and 10240."
  }
}

variable "pin_secret_arn" {
  description = "Full ARN (with its 6-character suffix) of the Secrets Manager secret holding the CloudHSM crypto user's PIN, \"CU_user:password\". Created and filled outside Terraform by the CU holder; the signer may read exactly this secret. Null until then."
  type        = string
  default     = null

  validation {
    condition     = var.pin_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$", var.pin_secret_arn))
    error_message = "pin_secret_arn must be a complete Secrets Manager secret ARN, including the random 6-character suffix."
  }
}

variable "pin_secret_json_key" {
  description = "If the secret is a JSON object, the key whose value is the PIN; null when the secret string is the PIN itself."
  type        = string
  default     = null
}

variable "ssm_parameter_names" {
  description = "Names of the published parameters keyed by role (module jwks: config, jwks, truststore, hsm_ca_cert, optionally config_ecs). Empty before anything is published."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.ssm_parameter_names : contains(["config", "config_ecs", "jwks", "truststore", "hsm_ca_cert"], k) && startswith(v, "/")])
    error_message = "ssm_parameter_names: keys among config, config_ecs, jwks, truststore, hsm_ca_cert; values are parameter names starting with '/'."
  }
}

variable "ssm_parameter_arns" {
  description = "ARNs of the same parameters (module jwks): the signer's IAM policy allows ssm:GetParameters on exactly these."
  type        = map(string)
  default     = {}
}

variable "config_revision" {
  description = "Opaque string put into the signer's environment; changing it starts fresh Lambda environments and a new Fargate deployment (module jwks' revision)."
  type        = string
  default     = ""
}

variable "dynamodb_table_arn" {
  description = "ARN of the inventory table (module inventory)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+$", var.dynamodb_table_arn))
    error_message = "dynamodb_table_arn must be a DynamoDB table ARN."
  }
}

variable "dynamodb_index_arns" {
  description = "ARNs of the table's indexes the signer queries (the GSI \"revoked\")."
  type        = list(string)
  default     = []
}

variable "dynamodb_item_actions" {
  description = "DynamoDB item actions the signer may perform on its table: those the C backend (store/st_dynamodb.c) calls. No Scan, no DeleteItem (records expire by TTL), no table administration."
  type        = list(string)
  default     = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]

  validation {
    condition     = alltrue([for a in var.dynamodb_item_actions : contains(["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:Query"], a)])
    error_message = "dynamodb_item_actions: only GetItem, BatchGetItem, PutItem, UpdateItem, ConditionCheckItem and Query are allowed."
  }
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys the signer's data is encrypted with (the inventory table's, the PIN secret's), used only through DynamoDB and Secrets Manager (kms:ViaService). Empty for AWS managed keys."
  type        = list(string)
  default     = []
}

variable "hsm_ip_addresses" {
  description = "IP addresses of the HSMs (module cloudhsm): the entrypoint runs configure-pkcs11 -a with them at start, so no DescribeClusters call (and no cloudhsmv2 endpoint) is needed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for ip in var.hsm_ip_addresses : can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$", ip))])
    error_message = "hsm_ip_addresses must be IPv4 addresses."
  }
}

variable "disable_key_availability_check" {
  description = "Development only: configure-pkcs11 --disable-key-availability-check, for a one-HSM cluster. Never in production (docs/cloudhsm.md)."
  type        = bool
  default     = false
}

variable "runtime_dir" {
  description = "Directory the entrypoint writes the fetched config, JWKS, truststore and CloudHSM client configuration to (writable in Lambda: /tmp). The service config must use the same paths."
  type        = string
  default     = "/tmp/hsmsign"
}

variable "log_level" {
  description = "HSMSIGN_LOG_LEVEL of hsmsignd."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["debug", "info", "warn", "error"], var.log_level)
    error_message = "log_level must be debug, info, warn or error."
  }
}

variable "log_retention_days" {
  description = "Retention of the signer's CloudWatch log groups (audit events are in them: keep them as long as your audit policy asks)."
  type        = number
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch's retention values (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key for the log groups, or null for CloudWatch's default encryption. The key policy must allow the CloudWatch Logs service."
  type        = string
  default     = null
}

variable "ecr_kms_key_arn" {
  description = "KMS key for the ECR repository, or null for AES256."
  type        = string
  default     = null
}

variable "untagged_image_expiry_days" {
  description = "Untagged images are deleted after this many days. Tagged images are kept: tags are immutable, so a deployed digest that was pushed with a tag is never deleted."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_image_expiry_days >= 1
    error_message = "untagged_image_expiry_days must be at least 1."
  }
}

variable "create_ecs_service" {
  description = "Whether to run the same image as an ECS Fargate service (container mode: hsmsignd's own HTTP server) next to or instead of Lambda."
  type        = bool
  default     = false
}

variable "ecs_desired_count" {
  description = "Number of Fargate tasks."
  type        = number
  default     = 2

  validation {
    condition     = var.ecs_desired_count >= 0 && var.ecs_desired_count <= 100
    error_message = "ecs_desired_count must be between 0 and 100."
  }
}

variable "ecs_cpu" {
  description = "CPU units of one Fargate task (1024 = 1 vCPU)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.ecs_cpu)
    error_message = "ecs_cpu must be a Fargate CPU value (256 ... 16384)."
  }
}

variable "ecs_memory_mb" {
  description = "Memory of one Fargate task in MiB (must fit ecs_cpu, see the Fargate task size table)."
  type        = number
  default     = 2048
}

variable "ecs_container_port" {
  description = "Port hsmsignd listens on in container mode (HSMSIGN_LISTEN=0.0.0.0:PORT)."
  type        = number
  default     = 8080

  validation {
    condition     = var.ecs_container_port >= 1024 && var.ecs_container_port <= 65535
    error_message = "ecs_container_port must be an unprivileged port (1024-65535): the container does not run as root."
  }
}

variable "ecs_target_group_arn" {
  description = "Optional load balancer target group (type ip) for the Fargate service, e.g. an internal ALB with mTLS passthrough; null for none."
  type        = string
  default     = null
}

variable "ecs_ingress_security_group_ids" {
  description = "Security groups (e.g. the load balancer's) allowed to reach the Fargate tasks on ecs_container_port, keyed by a static name."
  type        = map(string)
  default     = {}
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}

# --- keygen (keygen.tf) ----------------------------------------------------------------------------

variable "keygen_enabled" {
  description = "Create the server-side SSH key generation queue, dead-letter queue, alarm, worker function and their IAM (keygen.tf). hsmsignd's config then needs ssh.keygen.queue_url (output keygen_queue_url) and the DynamoDB inventory."
  type        = bool
  default     = false
}

variable "keygen_worker_timeout_seconds" {
  description = "Timeout of the keygen worker function, seconds; the request queue's visibility timeout is 6 times this. An RSA-4096 key takes seconds to generate."
  type        = number
  default     = 60

  validation {
    condition     = var.keygen_worker_timeout_seconds >= 10 && var.keygen_worker_timeout_seconds <= 900
    error_message = "keygen_worker_timeout_seconds must be 10..900 (Lambda's maximum; 6 x 900 stays under SQS's 12-hour visibility limit)."
  }
}

variable "keygen_worker_concurrency" {
  description = "Reserved concurrency of the keygen worker and the event source mapping's maximum concurrency (at least 2, SQS's minimum): how many workers hold HSM sessions at once."
  type        = number
  default     = 2

  validation {
    condition     = var.keygen_worker_concurrency >= 2 && var.keygen_worker_concurrency <= 100
    error_message = "keygen_worker_concurrency must be 2..100."
  }
}

variable "keygen_batch_size" {
  description = "Messages per worker invocation (1..10; the worker answers failed ones in batchItemFailures)."
  type        = number
  default     = 1

  validation {
    condition     = var.keygen_batch_size >= 1 && var.keygen_batch_size <= 10
    error_message = "keygen_batch_size must be 1..10."
  }
}

variable "keygen_result_ttl_seconds" {
  description = "How long an unfetched request lives, seconds (the config's ssh.keygen result TTL should match); also the request queue's message retention, since a job older than its item is dropped anyway. SQS allows 60..1209600."
  type        = number
  default     = 300

  validation {
    condition     = var.keygen_result_ttl_seconds >= 60 && var.keygen_result_ttl_seconds <= 1209600
    error_message = "keygen_result_ttl_seconds must be 60..1209600 (SQS message retention bounds)."
  }
}

variable "keygen_queue_kms_key_arn" {
  description = "Customer managed KMS key for the keygen queues, or null for SQS managed encryption (SSE-SQS)."
  type        = string
  default     = null
}

variable "keygen_alarm_actions" {
  description = "ARNs (e.g. an SNS topic) notified when the keygen dead-letter queue is not empty."
  type        = list(string)
  default     = []
}
