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
