# The IAM role baton-aws assumes in the management account, trusted by the
# account (or role) that runs the connector, with an external id.
# The permissions come from `baton-aws iam-policy`, so they match the
# features the connector runs with:
#
#   baton-aws iam-policy --sso --provisioning --external-id "$EXTERNAL_ID" \
#     --trusted-principal "arn:aws:iam::111122223333:root" > baton-aws-policy.json
#
#   terraform apply -var external_id="$EXTERNAL_ID" \
#     -var trusted_principal="arn:aws:iam::111122223333:root"

terraform {
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "trusted_principal" {
  description = "The ARN that assumes the role: the account root or the role the connector runs as."
  type        = string
}

variable "external_id" {
  description = "The external id the connector sends (32 to 64 characters)."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.external_id) >= 32 && length(var.external_id) <= 64
    error_message = "The external id must be 32 to 64 characters long."
  }
}

variable "policy_file" {
  description = "The output of `baton-aws iam-policy` for the chosen features."
  type        = string
  default     = "baton-aws-policy.json"
}

locals {
  documents = jsondecode(file(var.policy_file))
}

resource "aws_iam_role" "baton_aws" {
  name                 = "baton-aws"
  description          = "Read (and, with provisioning, change) access for the baton-aws connector"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = var.trusted_principal }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "sts:ExternalId" = var.external_id } }
    }]
  })
}

resource "aws_iam_role_policy" "baton_aws" {
  name   = "baton-aws"
  role   = aws_iam_role.baton_aws.id
  policy = jsonencode(local.documents.permissions_policy)
}

output "role_arn" {
  description = "Pass this as BATON_ROLE_ARN."
  value       = aws_iam_role.baton_aws.arn
}
