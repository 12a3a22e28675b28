# cloudhsm: an AWS CloudHSM cluster with one HSM per availability zone, reachable on TCP
# 2223-2225 from the client security groups only.
#
# What Terraform cannot do (docs/ceremony.md, docs/cloudhsm.md; run by people, witnessed):
#   1. Initialise the cluster. After the first apply the cluster is UNINITIALIZED and its CSR is
#      in the output cluster_csr (it appears once the first HSM exists, i.e. after a refresh or
#      a second plan; `aws cloudhsmv2 describe-clusters` shows it too). Sign it with your own
#      issuing CA (the "customerCA.crt"), then run
#        aws cloudhsmv2 initialize-cluster --cluster-id ID --signed-cert cluster.crt --trust-anchor customerCA.crt
#      customerCA.crt is what every client needs (the hsm_ca_cert SSM parameter, module jwks).
#   2. Activate it: cloudhsm-cli `cluster activate` sets the admin password.
#   3. Create the crypto user hsmsignd logs in as (cloudhsm-cli `user create --role
#      crypto-user`), set up quorum authentication, and store "CU_user:password" in the Secrets
#      Manager secret the signer reads (its ARN is an input of the signer module; Terraform never
#      sees the PIN).
#   4. Run the key ceremony (keyceremony root/intermediate/jwt-key/export/verify) and the key
#      synchronisation check, then publish jwks.json and truststore.pem (module jwks).
#   5. Backup retention, optional HSM-client mTLS trust anchors and key quorum values are
#      operated with the AWS CLI / CloudHSM CLI, not here.
#
# The cluster's security group is created by AWS together with the cluster (it allows the HSMs
# to talk to each other); Terraform does not own it and only adds the rules below.
#
# prevent_destroy: the cluster holds the CA and JWT keys (backups keep them for the retention
# period only). Removing it takes a deliberate edit of this file.

resource "aws_cloudhsm_v2_cluster" "this" {
  hsm_type                 = var.hsm_type
  mode                     = var.hsm_type == "hsm2m.medium" ? var.mode : null
  subnet_ids               = values(var.subnet_ids_by_az)
  source_backup_identifier = var.source_backup_id

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_cloudhsm_v2_hsm" "this" {
  for_each = var.subnet_ids_by_az

  cluster_id = aws_cloudhsm_v2_cluster.this.cluster_id
  subnet_id  = each.value
}

resource "aws_vpc_security_group_ingress_rule" "hsm_from_clients" {
  for_each = var.client_security_group_ids

  security_group_id            = aws_cloudhsm_v2_cluster.this.security_group_id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 2223
  to_port                      = 2225
  description                  = "CloudHSM client SDK from ${each.key}"

  tags = var.tags
}

# The client groups are egress-restricted (module network): let them out to the HSMs.
resource "aws_vpc_security_group_egress_rule" "clients_to_hsm" {
  for_each = var.client_security_group_ids

  security_group_id            = each.value
  referenced_security_group_id = aws_cloudhsm_v2_cluster.this.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 2223
  to_port                      = 2225
  description                  = "CloudHSM client SDK to the ${var.name} cluster"

  tags = var.tags
}
