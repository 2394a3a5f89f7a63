terraform {
  # 1.9+: variable validation may refer to other variables (models vs enable_inference_profile).
  # 1.11+: `override_during = plan` in tests (mocked profile ARNs are known at plan time).
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # aws_bedrock_inference_profile (application inference profiles, model_source.copy_from)
      # is in the 5.x line this repository pins (5.100.0 in the offline mirror).
      version = "~> 5.100"
    }
  }
}
