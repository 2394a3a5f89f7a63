terraform {
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Partial configuration: bucket, key, region and lock settings are rendered per
  # environment by the pipeline (segmented key <env>/<app_id>/audit/terraform.tfstate, see
  # docs/terraform.md) and passed with `terraform init -backend-config=...`. Checks run
  # `terraform init -backend=false`, which never reads it.
  backend "s3" {}
}
