provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.extra_tags, {
      app_id     = var.app_id
      agent_name = var.agent_name
      env        = var.env
      stack      = "agent"
      managed_by = "terraform"
      repository = "tenantkit"
    })
  }
}
