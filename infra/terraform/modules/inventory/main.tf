# inventory: the DynamoDB table behind hsmsignd's certificate inventory. The C backend is
# written against exactly this schema; change it only together with that code.
#
#   item                                   attributes
#   certificate   serial = <hex serial>    ... the record (not_after, requested_by, status,
#                                          kind: 0 x509 / 1 ssh, absent = x509, ...),
#                                          expires_at (N, epoch seconds: TTL deletes it after)
#   revoked cert  + revoked_part (S): puts the item into the sparse GSI "revoked", key
#                                          (revoked_part, serial), one partition per kind:
#                                          "revoked" (X.509; the CRL is a Query on it) and
#                                          "revoked#ssh" (SSH; for a KRL). So the index needs no
#                                          "kind" in its projection.
#   revoked SSH   + krl_sort (S): "<CA key SHA-256, hex>#<serial, zero-padded to 40 digits>":
#                                          puts the item into the sparse GSI "krl", key
#                                          (revoked_part, krl_sort), in the order a KRL lists
#                                          it (per CA key, serials ascending). A second index,
#                                          not issuer_key_sha256 added to "revoked": a GSI's
#                                          projection cannot change in place (Terraform would
#                                          drop and rebuild "revoked", and the CRL fail
#                                          meanwhile); a new GSI is built online beside it.
#   counters      serial = "meta#crl_number", "meta#revocation_generation", numeric "value";
#                 no expires_at, so TTL never deletes them
#   keygen        serial = "keygen#<request_id, 32 hex>": a server-side SSH key generation request
#                 (store/st_keygen.h): owner (S), keygen_status (N: 0 pending, 1 done,
#                 2 failed), result (B: the sealed box of the result, never a key in the clear),
#                 expires_at (N): TTL deletes unfetched results; the backend also checks
#                 expires_at on every read, as TTL deletion is lazy. Never in a GSI (no
#                 revoked_part). IAM confines roles to them with dynamodb:LeadingKeys "keygen#*"
#                 (modules/signer/keygen.tf, which says why they share this table).
#
# The counters are created and advanced by the backend (conditional writes). They are NOT
# managed here: an aws_dynamodb_table_item would be put back to its configured value on the next
# apply, and a CRL number must never repeat.
#
# On-demand billing, point-in-time recovery, server-side encryption, deletion protection; and
# prevent_destroy, so that even a `terraform destroy` stops here.

locals {
  revoked_index = "revoked"
  krl_index     = "krl"
}

resource "aws_dynamodb_table" "this" {
  name         = var.table_name
  billing_mode = "PAY_PER_REQUEST"
  table_class  = "STANDARD"
  hash_key     = "serial"

  attribute {
    name = "serial"
    type = "S"
  }

  attribute {
    name = "revoked_part"
    type = "S"
  }

  attribute {
    name = "krl_sort"
    type = "S"
  }

  global_secondary_index {
    name      = local.revoked_index
    hash_key  = "revoked_part"
    range_key = "serial"
    # The CRL is built from the index alone: the backend (store/st_dynamodb.c) reads
    # serial, revoked_at and reason and filters on not_after.
    projection_type    = "INCLUDE"
    non_key_attributes = ["not_after", "revoked_at", "reason"]
  }

  global_secondary_index {
    name      = local.krl_index
    hash_key  = "revoked_part"
    range_key = "krl_sort"
    # The KRL is built from the index alone: the backend reads serial, krl_sort (which names
    # the CA key) and revoked_at, and filters on not_after.
    projection_type    = "INCLUDE"
    non_key_attributes = ["not_after", "revoked_at"]
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  deletion_protection_enabled = true

  tags = merge(var.tags, { Name = var.table_name })

  lifecycle {
    prevent_destroy = true
  }
}
