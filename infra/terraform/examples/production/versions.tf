terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.67" # >= 5.67 (aws_cloudhsm_v2_cluster.mode, hsm2m.medium), < 6.0
    }
  }

  # State holds resource IDs and the published public material, no secrets; still keep it in a
  # versioned, encrypted bucket with locking, e.g.:
  # backend "s3" {
  #   bucket         = "example-terraform-state"
  #   key            = "hsmsign/production.tfstate"
  #   region         = "eu-central-1"
  #   dynamodb_table = "terraform-locks"
  #   encrypt        = true
  # }
}

provider "aws" {
  region = var.region
}

# CloudFront's certificates live in us-east-1 (module console, with console_domain_name).
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}
