terraform {
  # 1.10+: S3 native state locking (use_lockfile), rendered by `tenantkit tf backend-config`.
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "5.100.0"
    }
  }

  # Partial configuration (ADR 0013): one state per instance of this stack, at
  # <env>/<app_id>/<agent_name>/terraform.tfstate, with its own <key>.tflock. The pipeline
  # passes bucket, key, region, use_lockfile and encrypt as -backend-config arguments:
  #   terraform init $(tenantkit tf backend-config --env dev --app-id portal --agent-name support-agent)
  backend "s3" {}
}
