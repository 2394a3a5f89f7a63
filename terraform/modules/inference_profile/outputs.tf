output "inference_profile_arns" {
  description = "Profile ARN per models key ({} when disabled). Give the runtime/evaluator its ARN as INFERENCE_PROFILE_ARN."
  value       = { for key, profile in aws_bedrock_inference_profile.this : key => profile.arn }
}

output "inference_profile_arn" {
  description = "The profile ARN when exactly one model is configured, else null (also null when disabled)."
  value       = length(aws_bedrock_inference_profile.this) == 1 ? one(values(aws_bedrock_inference_profile.this)).arn : null
}

output "tags" {
  description = "The validated tag map (canonical + extended): reuse it on the app's Lambda, DynamoDB and S3 resources."
  value       = local.tags
}

output "routed_model_arns" {
  description = "Foundation-model ARNs the profiles route to (the only model ARNs the policy allows)."
  value       = local.routed_model_arns
}

output "invoke_policy_json" {
  description = "IAM policy document (JSON) allowing invocation through the profiles only; null when disabled. Attach it to any other role that calls the models."
  value       = local.invoke_policy_json
}

output "role_arns" {
  description = "ARNs of the created roles, keyed runtime / evaluator (only those created)."
  value       = { for key, role in aws_iam_role.this : key => role.arn }
}
