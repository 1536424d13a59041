# A module: no provider, backend or import block of its own, so that a
# caller's root configures them and may use count, for_each and depends_on
# on it. The caller's google provider needs no default project or region:
# every resource names var.project_id and var.region. examples/quickstart
# is the root docs/deploy.md applies; examples/two-copies calls it twice.
terraform {
  # 1.7 brings mock_provider to `terraform test`; the module itself needs
  # nothing newer.
  required_version = ">= 1.7"

  required_providers {
    # Lower bounds only, as a called module should: the caller's root picks
    # the versions and pins them in its lock file (examples/quickstart's
    # .terraform.lock.hcl). `make test` builds google 8.0.0 and time 0.14.2
    # (scripts/terraform-provider.sh), and tests/first_apply.tftest.hcl
    # checks that the tests ran on them.
    google = {
      source  = "hashicorp/google"
      version = ">= 8.0"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.14"
    }
  }
}
