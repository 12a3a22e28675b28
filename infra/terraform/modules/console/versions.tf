terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.67.0, < 6.0.0"
      # CloudFront takes viewer certificates from ACM in us-east-1 only.
      configuration_aliases = [aws.us_east_1]
    }
  }
}
