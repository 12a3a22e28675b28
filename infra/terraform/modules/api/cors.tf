# CORS on the main API for the web console served from another origin (module console; docs/
# console.md, "AWS deployment"), only with var.console_origin: off by default.
#
# The routes are AWS_IAM, and a browser's preflight (OPTIONS with Origin and
# Access-Control-Request-Method) carries no signature. With cors_configuration set, an HTTP API
# answers every preflight itself — without an OPTIONS route, without authorization and without
# invoking the function — so no unauthenticated route is added (and none may be: an OPTIONS or ANY
# route with IAM authorization would take the preflight and refuse it). API Gateway adds the CORS
# headers to the function's answers and ignores any the function sends. The console signs each
# request with SigV4; there are no cookies, so allow_credentials stays off.

locals {
  # What a SigV4-signing browser sends (aws4fetch: authorization, x-amz-date, x-amz-content-sha256,
  # x-amz-security-token with temporary credentials) and the headers hsmsignd answers with that the
  # console reads (Location of an asynchronous request, Retry-After of a 503, X-Request-Id).
  cors_allow_headers  = ["authorization", "content-type", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"]
  cors_expose_headers = ["location", "retry-after", "x-request-id"]
}

variable "console_origin" {
  description = "Origin of the web console (module console, output origin), e.g. \"https://console.pki.example.com\": the main API answers CORS for it (preflights without authorization; SigV4 headers allowed; Location, Retry-After, X-Request-Id exposed). Null (the default) for no CORS: only same-origin and non-browser callers."
  type        = string
  default     = null

  validation {
    condition     = var.console_origin == null || can(regex("^https://([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,}(:[0-9]{1,5})?$", var.console_origin))
    error_message = "console_origin must be one https origin (scheme and host, optional port; no path, no trailing '/', no wildcard)."
  }
}

variable "cors_max_age_seconds" {
  description = "How long a browser may cache a CORS preflight answer (Access-Control-Max-Age), in seconds; browsers cap it (Chromium at 7200)."
  type        = number
  default     = 600

  validation {
    condition     = var.cors_max_age_seconds >= 0 && var.cors_max_age_seconds <= 86400
    error_message = "cors_max_age_seconds must be between 0 and 86400."
  }
}
