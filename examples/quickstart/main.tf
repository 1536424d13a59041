# The root docs/deploy.md applies: one copy of watchrelay in one project,
# from this checkout's source archive (bash scripts/package.sh writes it).
# Any other input of terraform/README.md goes into the module block below.

locals {
  source_zip = coalesce(var.source_zip, "${path.module}/../../dist/function.zip")
}

module "watchrelay" {
  source = "../../terraform"

  project_id     = var.project_id
  region         = var.region
  source_zip     = local.source_zip
  deployer       = var.deployer
  alert_emails   = var.alert_emails
  watches        = var.watches
  public_receive = var.public_receive
  enable_gmail   = var.enable_gmail
  receive_domain = var.receive_domain
}
