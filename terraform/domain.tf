# An optional custom domain for Receive. Google asks that a push address be
# on a domain the project's owner has verified, and nobody can verify
# run.app. With receive_domain set, a global external Application Load
# Balancer serves Receive at https://<receive_domain> through a serverless
# network endpoint group, with a Google-managed certificate, and Renew gives
# that address to every new channel (WATCHRELAY_ADDRESS follows
# local.receive_url, functions.tf). A load balancer rather than a Cloud Run
# domain mapping: mappings exist in a few regions only, and the load
# balancer works in all of them. What remains for the user (docs/deploy.md):
# an A record to the address, and the domain's ownership in Search Console.

variable "receive_domain" {
  description = "A domain name (e.g. relay.example.com) to serve Receive at, through an HTTPS load balancer with a Google-managed certificate; WATCHRELAY_ADDRESS then follows it. Point an A record of it at the receive_domain output's ip_address, and verify it in Search Console (docs/deploy.md). Null: Receive's own run.app URL."
  type        = string
  default     = null

  validation {
    condition     = var.receive_domain == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$", coalesce(var.receive_domain, "-")))
    error_message = "receive_domain must be a lowercase domain name such as relay.example.com, without scheme, port or path."
  }

  validation {
    condition     = var.receive_domain == null || !endswith(coalesce(var.receive_domain, "-"), ".run.app")
    error_message = "receive_domain must be a domain you own: run.app cannot be verified in Search Console."
  }
}

locals {
  # One load balancer or none. Its parts are counted, not keyed by the
  # domain, so that a new domain keeps the address (and the DNS record).
  domains = var.receive_domain == null ? 0 : 1
}

# The load balancer's resources need the Compute Engine API.
resource "google_project_service" "compute" {
  count = var.enable_apis ? local.domains : 0

  project = var.project_id
  service = "compute.googleapis.com"

  disable_on_destroy         = false
  disable_dependent_services = false

  depends_on = [time_sleep.apis]
}

resource "google_compute_global_address" "receive" {
  count = local.domains

  project = var.project_id
  name    = "${var.name}-receive"

  depends_on = [google_project_service.compute]
}

# A gen2 function is a Cloud Run service of the same name.
resource "google_compute_region_network_endpoint_group" "receive" {
  count = local.domains

  project               = var.project_id
  region                = var.region
  name                  = "${var.name}-receive"
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloudfunctions2_function.receive.name
  }

  depends_on = [google_project_service.compute]
}

resource "google_compute_backend_service" "receive" {
  count = local.domains

  project               = var.project_id
  name                  = "${var.name}-receive"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"

  backend {
    group = google_compute_region_network_endpoint_group.receive[0].id
  }
}

resource "google_compute_url_map" "receive" {
  count = local.domains

  project         = var.project_id
  name            = "${var.name}-receive"
  default_service = google_compute_backend_service.receive[0].id
}

# Named after the domain, and made before the old one goes: a proxy must
# always hold a certificate, so a new domain gets a new certificate first.
resource "google_compute_managed_ssl_certificate" "receive" {
  count = local.domains

  project = var.project_id
  name    = "${var.name}-receive-${substr(sha256(var.receive_domain), 0, 8)}"

  managed {
    domains = [var.receive_domain]
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_project_service.compute]
}

resource "google_compute_target_https_proxy" "receive" {
  count = local.domains

  project          = var.project_id
  name             = "${var.name}-receive"
  url_map          = google_compute_url_map.receive[0].id
  ssl_certificates = [google_compute_managed_ssl_certificate.receive[0].id]
}

# HTTPS only: Google pushes to nothing else.
resource "google_compute_global_forwarding_rule" "receive" {
  count = local.domains

  project               = var.project_id
  name                  = "${var.name}-receive"
  target                = google_compute_target_https_proxy.receive[0].id
  ip_address            = google_compute_global_address.receive[0].id
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
}

output "receive_domain" {
  description = "With receive_domain: the address to point the domain's A record at, the DNS record itself, and the managed certificate, which Google provisions once the record resolves (up to an hour; scripts/smoke.sh checks). Null otherwise."
  value = var.receive_domain == null ? null : {
    domain      = var.receive_domain
    ip_address  = google_compute_global_address.receive[0].address
    dns_record  = "${var.receive_domain}. 300 IN A ${google_compute_global_address.receive[0].address}"
    certificate = google_compute_managed_ssl_certificate.receive[0].name
  }
}
