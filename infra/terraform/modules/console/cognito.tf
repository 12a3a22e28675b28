# Sign-in: a Cognito user pool with its hosted UI (OAuth 2.0 authorization code flow with PKCE,
# RFC 7636, for a public client: the app client has no secret, a browser cannot keep one) and an
# identity pool that exchanges the user pool's ID token for temporary credentials of one role.
#
# Who may sign in: users an administrator creates (no self sign-up: anyone who can sign in gets the
# role's credentials), with TOTP MFA by default. Cognito does not let a client require PKCE; the
# console always sends an S256 code_challenge.

resource "aws_cognito_user_pool" "this" {
  name                     = var.name
  deletion_protection      = "ACTIVE"
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  mfa_configuration        = var.mfa_configuration

  software_token_mfa_configuration {
    enabled = true
  }

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length                   = 14
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  user_attribute_update_settings {
    attributes_require_verification_before_update = ["email"]
  }

  tags = var.tags
}

resource "aws_cognito_user_pool_domain" "this" {
  domain       = var.user_pool_domain_prefix
  user_pool_id = aws_cognito_user_pool.this.id
}

resource "aws_cognito_user_pool_client" "this" {
  name         = var.name
  user_pool_id = aws_cognito_user_pool.this.id

  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = [local.redirect_uri]
  logout_urls                          = [local.redirect_uri]

  # Only the hosted UI signs users in; no password flow from the browser.
  explicit_auth_flows           = ["ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  id_token_validity      = var.session_minutes
  access_token_validity  = var.session_minutes
  refresh_token_validity = max(60, var.session_minutes)

  token_validity_units {
    id_token      = "minutes"
    access_token  = "minutes"
    refresh_token = "minutes"
  }
}

resource "aws_cognito_identity_pool" "this" {
  identity_pool_name               = replace(var.name, "-", "_")
  allow_unauthenticated_identities = false
  allow_classic_flow               = false

  cognito_identity_providers {
    client_id               = aws_cognito_user_pool_client.this.id
    provider_name           = aws_cognito_user_pool.this.endpoint
    server_side_token_check = true
  }

  tags = var.tags
}

# --- the role every console user acts as ----------------------------------------------------------

data "aws_iam_policy_document" "assume" {
  statement {
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = ["cognito-identity.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "cognito-identity.amazonaws.com:aud"
      values   = [aws_cognito_identity_pool.this.id]
    }

    condition {
      test     = "ForAnyValue:StringLike"
      variable = "cognito-identity.amazonaws.com:amr"
      values   = ["authenticated"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name}-user"
  description          = "hsmsign console: the principal of every signed-in console user (Cognito identity pool ${var.name})"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600

  tags = var.tags
}

# API Gateway's IAM authorization: the role may call the API; hsmsignd's policy then decides what.
data "aws_iam_policy_document" "invoke" {
  count = length(var.api_execution_arns) == 0 ? 0 : 1

  statement {
    effect    = "Allow"
    actions   = ["execute-api:Invoke"]
    resources = [for a in var.api_execution_arns : "${a}/*"]
  }
}

resource "aws_iam_role_policy" "invoke" {
  count = length(var.api_execution_arns) == 0 ? 0 : 1

  name   = "invoke-hsmsign-api"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.invoke[0].json
}

resource "aws_iam_role_policy_attachment" "extra" {
  for_each = toset(var.managed_policy_arns)

  role       = aws_iam_role.this.name
  policy_arn = each.value
}

resource "aws_cognito_identity_pool_roles_attachment" "this" {
  identity_pool_id = aws_cognito_identity_pool.this.id

  roles = {
    authenticated = aws_iam_role.this.arn
  }
}
