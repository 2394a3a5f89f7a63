# The tag standard and the model sources are validated at plan time. A failing run names the
# variable; the error text (which names the missing or invalid tag) is in variables.tf and is
# shown in docs/cost-attribution.md. Validation runs whether or not profiles are enabled: the
# tag map is reused on the app's other resources either way.

mock_provider "aws" {}

variables {
  enable_inference_profile = true
  inference_profile_tags = {
    app_id      = "portal"
    agent_name  = "support-bot"
    env         = "dev"
    cost_center = "cc-1234"
    owner       = "platform@example.com"
  }
  models = {
    main = {
      copy_from = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"
    }
  }
}

run "accepts_the_canonical_set_plus_extended_tags" {
  command = plan

  variables {
    inference_profile_tags = {
      app_id       = "portal"
      agent_name   = "support-bot"
      env          = "dev"
      cost_center  = "cc-1234"
      owner        = "platform@example.com"
      "team:name"  = "agents / core"
      data_class   = "internal=yes+audit"
      "tenant-mix" = ""
    }
  }

  assert {
    condition     = length(output.tags) == 8
    error_message = "extended tags (including an empty value) must be accepted"
  }
}

run "rejects_a_missing_canonical_tag" {
  command = plan

  variables {
    inference_profile_tags = {
      app_id     = "portal"
      agent_name = "support-bot"
      env        = "dev"
      owner      = "platform@example.com"
    }
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_a_blank_canonical_tag_even_when_disabled" {
  command = plan

  variables {
    enable_inference_profile = false
    inference_profile_tags = {
      app_id      = "portal"
      agent_name  = "   "
      env         = "dev"
      cost_center = "cc-1234"
      owner       = "platform@example.com"
    }
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_an_empty_tag_map" {
  command = plan

  variables {
    inference_profile_tags = {}
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_a_disallowed_character_in_a_value" {
  command = plan

  variables {
    inference_profile_tags = {
      app_id      = "portal"
      agent_name  = "support-bot"
      env         = "dev"
      cost_center = "cc#1234"
      owner       = "platform@example.com"
    }
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_a_non_ascii_letter_in_a_value" {
  command = plan

  variables {
    inference_profile_tags = {
      app_id      = "portal"
      agent_name  = "support-bot"
      env         = "dev"
      cost_center = "cc-1234"
      owner       = "rené@example.com"
    }
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_a_value_over_256_characters" {
  command = plan

  variables {
    inference_profile_tags = {
      app_id      = "portal"
      agent_name  = "support-bot"
      env         = "dev"
      cost_center = "cc-1234"
      owner       = "platform@example.com"
      note        = join("", [for i in range(257) : "a"])
    }
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_a_key_over_128_characters" {
  command = plan

  variables {
    inference_profile_tags = merge({
      app_id      = "portal"
      agent_name  = "support-bot"
      env         = "dev"
      cost_center = "cc-1234"
      owner       = "platform@example.com"
    }, { (join("", [for i in range(129) : "k"])) = "v" })
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_a_reserved_aws_prefix" {
  command = plan

  variables {
    inference_profile_tags = {
      app_id            = "portal"
      agent_name        = "support-bot"
      env               = "dev"
      cost_center       = "cc-1234"
      owner             = "platform@example.com"
      "aws:cost-center" = "x"
    }
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_more_than_50_tags" {
  command = plan

  variables {
    inference_profile_tags = merge({
      app_id      = "portal"
      agent_name  = "support-bot"
      env         = "dev"
      cost_center = "cc-1234"
      owner       = "platform@example.com"
    }, { for i in range(46) : "extra_${i}" => "x" })
  }

  expect_failures = [var.inference_profile_tags]
}

run "rejects_a_cross_region_source_without_routed_models" {
  command = plan

  variables {
    models = {
      main = {
        copy_from = "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-micro-v1:0"
      }
    }
  }

  expect_failures = [var.models]
}

run "rejects_wildcard_routed_models" {
  command = plan

  variables {
    models = {
      main = {
        copy_from         = "arn:aws:bedrock:us-east-1:111122223333:inference-profile/us.amazon.nova-micro-v1:0"
        routed_model_arns = ["arn:aws:bedrock:*::foundation-model/*"]
      }
    }
  }

  expect_failures = [var.models]
}

run "rejects_a_model_id_instead_of_an_arn" {
  command = plan

  variables {
    models = {
      main = {
        copy_from = "anthropic.claude-3-5-haiku-20241022-v1:0"
      }
    }
  }

  expect_failures = [var.models]
}

run "rejects_a_description_bedrock_would_refuse" {
  command = plan

  variables {
    models = {
      main = {
        copy_from   = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-micro-v1:0"
        description = "Support bot (prod) / main"
      }
    }
  }

  expect_failures = [var.models]
}

run "rejects_enabled_without_models" {
  command = plan

  variables {
    models = {}
  }

  expect_failures = [var.models]
}
