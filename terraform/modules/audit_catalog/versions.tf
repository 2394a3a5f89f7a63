terraform {
  # 1.9+: variable validation may refer to other variables (retention ordering, KMS key).
  # 1.7+: `terraform test` mock providers.
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }
}
