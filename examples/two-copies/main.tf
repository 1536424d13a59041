# Staging and production of watchrelay side by side in one project: two
# module blocks that differ only in name share no resource. Each gets its
# own topics, subscriptions, service accounts, functions, scheduler job,
# metrics, alerts, dashboard, bucket, image repository and Firestore
# database (named after it: neither is called watchrelay, so neither takes
# the project's (default) database). The APIs are the project's, enabled
# by both and disabled by neither. scripts/terraform-check.sh plans this
# root against the real provider and fails on any name the two share.

terraform {
  required_version = ">= 1.7"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.14"
    }
  }

  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region
}

variable "project_id" {
  description = "The project both copies are deployed into."
  type        = string
}

variable "region" {
  description = "Region of both copies."
  type        = string
  default     = "us-central1"
}

variable "source_zip" {
  description = "The function source archive, shared by both copies (each uploads it to its own bucket). Null: dist/function.zip of this checkout, which bash scripts/package.sh writes."
  type        = string
  default     = null
}

locals {
  source_zip = coalesce(var.source_zip, "${path.module}/../../dist/function.zip")

  # Each copy's name, which its every resource name (its database's too)
  # derives from.
  names = {
    staging    = "relay-staging"
    production = "relay-production"
  }
}

module "staging" {
  source = "../../terraform"

  project_id = var.project_id
  region     = var.region
  name       = local.names.staging
  source_zip = local.source_zip
}

module "production" {
  source = "../../terraform"

  project_id = var.project_id
  region     = var.region
  name       = local.names.production
  source_zip = local.source_zip
}

output "staging" {
  description = "Staging's topic, database, URLs and CLI settings."
  value = {
    topic       = module.staging.topic
    topic_name  = module.staging.topic_name
    database    = module.staging.database
    receive_url = module.staging.receive_url
    sync_url    = module.staging.sync_url
    cli_env     = module.staging.cli_env
  }
}

output "production" {
  description = "Production's topic, database, URLs and CLI settings."
  value = {
    topic       = module.production.topic
    topic_name  = module.production.topic_name
    database    = module.production.database
    receive_url = module.production.receive_url
    sync_url    = module.production.sync_url
    cli_env     = module.production.cli_env
  }
}

# Each copy's database outlives a destroy (the module abandons it, never
# deletes it), so the apply after a destroy adopts both instead of meeting
# a 409 "Database already exists": apply -var import_databases=true.
variable "import_databases" {
  description = "Adopt both copies' existing Firestore databases (named after the copies, left by an earlier terraform destroy) into this state instead of creating them."
  type        = bool
  default     = false
}

import {
  for_each = var.import_databases ? toset(["projects/${var.project_id}/databases/${local.names.staging}"]) : toset([])

  to = module.staging.google_firestore_database.this[0]
  id = each.value
}

import {
  for_each = var.import_databases ? toset(["projects/${var.project_id}/databases/${local.names.production}"]) : toset([])

  to = module.production.google_firestore_database.this[0]
  id = each.value
}
