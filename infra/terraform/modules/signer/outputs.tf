output "ecr_repository_url" {
  description = "URL of the ECR repository to push the hsmsign image to (docker push URL:TAG, then set image_digest)."
  value       = aws_ecr_repository.this.repository_url
}

output "ecr_repository_arn" {
  description = "ARN of the ECR repository."
  value       = aws_ecr_repository.this.arn
}

output "image_uri" {
  description = "The deployed image (repository@digest), or null before the first image_digest."
  value       = local.image_uri
}

output "lambda_function_name" {
  description = "Name of the Lambda function, or null when it is not created."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "lambda_function_arn" {
  description = "ARN of the Lambda function, or null when it is not created."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "lambda_invoke_arn" {
  description = "Invoke ARN of the Lambda function for API Gateway integrations, or null when it is not created."
  value       = try(aws_lambda_function.this[0].invoke_arn, null)
}

output "lambda_role_arn" {
  description = "ARN of the Lambda execution role."
  value       = aws_iam_role.lambda.arn
}

output "lambda_log_group_name" {
  description = "CloudWatch log group of the Lambda function (hsmsignd's JSON request and audit lines)."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "ecs_cluster_arn" {
  description = "ARN of the ECS cluster, or null without the Fargate service."
  value       = try(aws_ecs_cluster.this[0].arn, null)
}

output "ecs_service_name" {
  description = "Name of the ECS service, or null when it is not created."
  value       = try(aws_ecs_service.this[0].name, null)
}

output "ecs_task_role_arn" {
  description = "ARN of the Fargate task role, or null without the Fargate service."
  value       = try(aws_iam_role.ecs_task[0].arn, null)
}

output "ecs_log_group_name" {
  description = "CloudWatch log group of the Fargate service, or null without it."
  value       = try(aws_cloudwatch_log_group.ecs[0].name, null)
}

output "keygen_queue_url" {
  description = "URL of the keygen request queue (hsmsignd config: ssh.keygen.queue_url), or null without keygen_enabled."
  value       = try(aws_sqs_queue.keygen[0].url, null)
}

output "keygen_queue_arn" {
  description = "ARN of the keygen request queue, or null."
  value       = try(aws_sqs_queue.keygen[0].arn, null)
}

output "keygen_dlq_url" {
  description = "URL of the keygen dead-letter queue, or null."
  value       = try(aws_sqs_queue.keygen_dlq[0].url, null)
}

output "keygen_worker_function_name" {
  description = "Name of the keygen worker function, or null when it is not created."
  value       = try(aws_lambda_function.keygen_worker[0].function_name, null)
}
