output "state_key" {
  description = "This instance's state key (ADR 0013); equals what `tenantkit tf backend-config` renders."
  value       = local.state_key
}

output "runtime_role_name" {
  description = "Execution role of the agent runtime."
  value       = aws_iam_role.runtime.name
}

output "runtime_role_arn" {
  description = "Execution role ARN (unknown in a mock plan)."
  value       = aws_iam_role.runtime.arn
}

output "log_group_name" {
  description = "The agent runtime's log group."
  value       = aws_cloudwatch_log_group.agent.name
}

output "inference_profile_arn" {
  description = "The profile the BFF reports in audit records (SAM parameter InferenceProfileArn): models[\"main\"], or the only profile; null when disabled."
  value       = lookup(module.inference_profile.inference_profile_arns, "main", module.inference_profile.inference_profile_arn)
}

output "inference_profile_arns" {
  description = "Every profile ARN keyed by model role ({} when disabled)."
  value       = module.inference_profile.inference_profile_arns
}

output "evaluator_role_arn" {
  description = "The evaluator role (null unless create_evaluator_role and enable_inference_profile)."
  value       = lookup(module.inference_profile.role_arns, "evaluator", null)
}
