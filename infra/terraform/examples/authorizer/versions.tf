terraform {
  required_version = ">= 1.5.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.67"
    }
  }
}

provider "aws" {
  region = var.region
}

# Route 53 health checks publish their metrics in us-east-1 only: their alarms and the alarm
# topic live there (module health_check).
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
}
