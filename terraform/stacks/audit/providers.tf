provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.extra_tags, {
      app_id     = var.app_id
      env        = var.env
      stack      = "audit"
      managed_by = "terraform"
      repository = "tenantkit"
    })
  }
}
