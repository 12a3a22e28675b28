# GET /healthz on the main API, for Route 53 health checks of the custom domain (module
# health_check). hsmsignd answers it without authentication: 200 when a token session responds,
# 503 otherwise (docs/api.md). It is a public route with the public routes' throttling: every
# request is an invocation that touches the HSM, and Route 53's checkers call it from many
# regions (about one request per checker and interval), so keep public_throttling_* above
# that but low.

variable "healthz_route" {
  description = "Publish GET /healthz (public, throttled like the JWKS/CRL routes) on the main API for Route 53 health checks."
  type        = bool
  default     = false
}
