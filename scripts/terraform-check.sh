#!/usr/bin/env bash
# The offline Terraform checks of `make test`: the google and time providers
# built from the Go module proxy into a cache outside the tree (scripts/
# terraform-provider.sh, reused when present), then fmt, init without a
# backend, validate, `terraform test` on mock providers, for the module
# (terraform/) and for each root of examples/, and tflint with the bundled
# terraform ruleset. Nothing here reaches a registry or Google Cloud. The
# tests use the archives under terraform/tests/fixtures; the last steps zip
# the real source (scripts/package.sh) for plans against the real provider
# with a dummy token: the module alone, examples/pipeline,
# examples/quickstart and examples/two-copies.
set -euo pipefail
cd "$(dirname "$0")/.."
cache=${WATCHRELAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/watchrelay}

step() { echo "== $*"; }

# A plan of the root in DIR against the real provider with a dummy token and
# no refresh (nothing reaches Google): its output in DIR/plan.txt, printed
# in full when it fails, else its Plan: line.
real_plan() {
  local dir=$1
  shift
  GOOGLE_OAUTH_ACCESS_TOKEN=dummy terraform -chdir="$dir" plan -refresh=false -input=false -no-color "$@" >"$dir/plan.txt" 2>&1 || {
    cat "$dir/plan.txt"
    exit 1
  }
  grep -E '^Plan:' "$dir/plan.txt"
}

step "provider (scripts/terraform-provider.sh)"
# The machine's own TF_CLI_CONFIG_FILE may name a missing file: ours wins.
TF_CLI_CONFIG_FILE=$(bash scripts/terraform-provider.sh | tail -1)
export TF_CLI_CONFIG_FILE
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1

step "terraform fmt -check -recursive terraform examples scripts/plancheck scripts/namecheck"
for dir in terraform examples scripts/plancheck scripts/namecheck; do
  terraform fmt -check -recursive -diff "$dir"
done

step "terraform init -backend=false"
terraform -chdir=terraform init -backend=false -input=false -no-color >/dev/null

step "terraform validate"
terraform -chdir=terraform validate -no-color

step "terraform test"
# A test file without a mock of the time provider would really sleep for
# the IAM wait (iam_wait.tf), minutes per run: refuse it at once.
for f in terraform/tests/*.tftest.hcl; do
  if grep -q '^mock_provider "google"' "$f" && ! grep -q '^mock_provider "time"' "$f"; then
    echo "$f: add mock_provider \"time\" {} next to the google mock, or the IAM wait (time_sleep.build_grants) sleeps for real in every run" >&2
    exit 1
  fi
done
log=$(mktemp)
status=0
terraform -chdir=terraform test -no-color >"$log" 2>&1 || status=$?
cat "$log"
rm -f "$log"
if [ "$status" -ne 0 ]; then
  echo "terraform test failed" >&2
  exit "$status"
fi

step "examples: init, validate, terraform test"
# Each root from a copy beside a link to the module, so that its source
# (../../terraform) resolves: init writes nothing into the tree, and the
# copy leaves out any .terraform.lock.hcl a user commits there, whose
# registry checksums providers built from source cannot match.
exdir=$(mktemp -d)
trap 'rm -rf "$exdir"' EXIT
ln -s "$PWD/terraform" "$exdir/terraform"
# examples/pipeline's tests read the two build files from the root.
ln -s "$PWD/cloudbuild.yaml" "$PWD/cloudbuild-apply.yaml" "$exdir"/
for example in examples/*/; do
  example=${example%/}
  mkdir -p "$exdir/$example"
  cp "$example"/*.tf "$exdir/$example"/
  cp -R "$example/tests" "$exdir/$example/tests"
  echo "-- $example"
  terraform -chdir="$exdir/$example" init -backend=false -input=false -no-color >/dev/null
  terraform -chdir="$exdir/$example" validate -no-color
  status=0
  terraform -chdir="$exdir/$example" test -no-color >"$exdir/test.log" 2>&1 || status=$?
  cat "$exdir/test.log"
  if [ "$status" -ne 0 ]; then
    echo "terraform test failed in $example" >&2
    exit "$status"
  fi
done

step "tflint (recommended preset)"
tflint=$cache/bin/tflint
if [ ! -x "$tflint" ]; then
  GOBIN=$cache/bin go install github.com/terraform-linters/tflint@v0.64.0
fi
# The terraform ruleset is bundled in tflint: --init is not needed and no
# plugin is downloaded.
"$tflint" --chdir=terraform --config=.tflint.hcl --no-color
"$tflint" --chdir=examples/pipeline --config="$PWD/terraform/.tflint.hcl" --no-color
step "terraform plan against the real provider (dummy token, no refresh)"
# The mocks skip the provider's own plan-time checks; a plan with a dummy
# token runs them without reaching Google, with every optional resource on. A copy of the module gets a
# local backend (a plan needs an initialized one) and the real source zip.
bash scripts/package.sh
plandir=$(mktemp -d)
trap 'rm -rf "$exdir" "$plandir"' EXIT
cp terraform/*.tf terraform/indexes.json "$plandir"/
printf 'terraform {\n  backend "local" {}\n}\n' >"$plandir/backend_override.tf"
terraform -chdir="$plandir" init -input=false -no-color >/dev/null
real_plan "$plandir" \
  -var project_id=demo -var source_zip="$PWD/dist/function.zip" -var example_subscription=true \
  -var receive_domain=relay.example.com -var deployer=serviceAccount:watchrelay-deploy@demo.iam.gserviceaccount.com \
  -var 'watches={"team-calendar":{"kind":"calendar.events","params":{"calendarId":"primary"}}}' \
  -out="$plandir/plan.bin"

step "IAM over the whole plan"
# The tests check the bindings they name; this checks every resource of the
# plan, so a binding added later cannot make anything else public or grant
# Pub/Sub or a basic role on the project. terraform console reads the plan's
# JSON, so no other tool is needed.
terraform -chdir="$plandir" show -json plan.bin >"$plandir/plan.json"
mkdir "$plandir/console"
plan_json="jsondecode(file(\"$plandir/plan.json\")).resource_changes"
public="sort([for r in $plan_json : r.address if strcontains(jsonencode(r.change.after), \"allUsers\") || strcontains(jsonencode(r.change.after), \"allAuthenticatedUsers\")])"
project_wide="sort([for r in $plan_json : r.address if startswith(r.type, \"google_project_iam\") && anytrue([for p in [\"roles/pubsub.\", \"roles/owner\", \"roles/editor\", \"roles/viewer\"] : startswith(try(r.change.after.role, \"\"), p)])])"
# terraform console reads one expression per line.
iam=$(echo "jsonencode({public = $public, project_wide = $project_wide})" | terraform -chdir="$plandir/console" console -no-color)
want='"{\"project_wide\":[],\"public\":[\"google_cloud_run_service_iam_member.public_receive[0]\"]}"'
if [ "$iam" != "$want" ]; then
  echo "IAM check failed: only Receive may be public, and no Pub/Sub or basic role may be project-wide; got $iam" >&2
  exit 1
fi
echo "public: Receive's invoker only; project-wide: no Pub/Sub or basic role"

step "every resource ordered after the API enablement and its wait"
# A google resource that refers to no other google resource and not to the
# wait after enablement (time_sleep.apis, through its arguments or
# depends_on) has no path to google_project_service.enabled: with
# create_database = false, for instance, nothing else would create the
# Firestore indexes after the Firestore API is on. The rest follow by
# induction over the graph. scripts/plancheck checks that only the wait
# refers to the enablement itself, so no path skips the wait.
config="jsondecode(file(\"$plandir/plan.json\")).configuration.root_module.resources"
unordered="sort([for r in $config : r.address if startswith(r.type, \"google_\") && r.address != \"google_project_service.enabled\" && !strcontains(jsonencode([try(r.expressions, {}), try(r.depends_on, [])]), \"\\\"google_\") && !strcontains(jsonencode([try(r.expressions, {}), try(r.depends_on, [])]), \"\\\"time_sleep.apis\\\"\")])"
got=$(echo "jsonencode($unordered)" | terraform -chdir="$plandir/console" console -no-color)
if [ "$got" != '"[]"' ]; then
  echo "these resources do not depend on time_sleep.apis (the wait after google_project_service.enabled), directly or through another resource: $got" >&2
  exit 1
fi
echo "every google resource depends on the API enablement, through its wait"

step "terraform plan of examples/pipeline against the real provider (dummy token, no refresh)"
# What the pipeline grants its two accounts, for plancheck to hold against
# the module's role lists. It reads cloudbuild.yaml (logsBucket) from two
# levels up, as in the repository.
pipedir="$plandir/repo/examples/pipeline"
mkdir -p "$pipedir"
ln -s "$PWD/cloudbuild.yaml" "$plandir/repo/cloudbuild.yaml"
cp examples/pipeline/*.tf "$pipedir"/
printf 'terraform {\n  backend "local" {}\n}\n' >"$pipedir/backend_override.tf"
terraform -chdir="$pipedir" init -input=false -no-color >/dev/null
real_plan "$pipedir" \
  -var project_id=demo -var state_bucket=demo-state -var receive_domain=true \
  -var 'github={owner="example",name="watchrelay"}' -var 'approvers=["group:release@example.com"]' \
  -out="$pipedir/plan.bin"
terraform -chdir="$pipedir" show -json plan.bin >"$plandir/pipeline.json"

step "roles and the waits over the plans (scripts/plancheck)"
# Every resource type the module declares is covered by a role of
# terraform/roles.tf and read by one of terraform/plan_roles.tf, which
# docs/pipeline.md, the two build files and examples/pipeline name; the
# function builds, and nothing else, wait for the build account's grants;
# only the API wait refers to the API enablement; every alert policy waits
# for the metrics.
cp -R scripts/plancheck "$plandir/plancheck"
plancheck_vars=(-var plan_json="$plandir/plan.json" -var pipeline_plan_json="$plandir/pipeline.json"
  -var pipeline_doc="$PWD/docs/pipeline.md" -var cloudbuild="$PWD/cloudbuild.yaml" -var cloudbuild_apply="$PWD/cloudbuild-apply.yaml")
failures=$(echo 'length(local.failures)' | terraform -chdir="$plandir/plancheck" console -no-color "${plancheck_vars[@]}")
if [ "$failures" != 0 ]; then
  echo 'jsonencode(local.failures)' | terraform -chdir="$plandir/plancheck" console -no-color "${plancheck_vars[@]}" >&2
  echo "scripts/plancheck failed: see the lists above" >&2
  exit 1
fi
echo "every resource type has its deployer role and its plan role, named alike in docs/pipeline.md, cloudbuild.yaml, cloudbuild-apply.yaml and examples/pipeline; only the function builds wait for IAM; only the API wait follows the enablement; every alert policy waits for the metrics"

# A root of examples/ as a caller has it: its files outside the repository,
# the module named by its absolute path, a local backend in place of any
# other; then init and validate.
scratch_root() {
  local example=$1 dest=$2 f
  mkdir "$dest"
  for f in "$example"/*.tf; do
    sed "s|source = \"../../terraform\"|source = \"$PWD/terraform\"|" "$f" >"$dest/${f##*/}"
  done
  if ! grep -q "source = \"$PWD/terraform\"" "$dest/main.tf"; then
    echo "$example/main.tf no longer calls the module as source = \"../../terraform\"" >&2
    exit 1
  fi
  printf 'terraform {\n  backend "local" {}\n}\n' >"$dest/backend_override.tf"
  terraform -chdir="$dest" init -input=false -no-color >/dev/null
  terraform -chdir="$dest" validate -no-color
}

step "examples/quickstart planned from a scratch root against the real provider (dummy token, no refresh)"
# The root both builds plan and apply, planned here first, with the
# deployer the builds pass.
qsdir=$plandir/quickstart
scratch_root examples/quickstart "$qsdir"
real_plan "$qsdir" \
  -var project_id=demo -var source_zip="$PWD/dist/function.zip" \
  -var deployer=serviceAccount:watchrelay-deploy@demo.iam.gserviceaccount.com

step "two copies in one project: examples/two-copies planned from a scratch root (scripts/namecheck)"
# What a caller does: a root outside the repository whose module blocks
# name the module by its absolute path, with another name each; init,
# validate and a plan against the real provider, then no resource name of
# one copy may be a name of the other (a 409 on apply, or one copy taking
# over the other's topic, account, metric or database).
copydir=$plandir/two-copies
scratch_root examples/two-copies "$copydir"
real_plan "$copydir" \
  -var project_id=demo -var source_zip="$PWD/dist/function.zip" \
  -out="$copydir/plan.bin"
terraform -chdir="$copydir" show -json plan.bin >"$copydir/plan.json"
cp -R scripts/namecheck "$plandir/namecheck"
failures=$(echo 'length(local.failures)' | terraform -chdir="$plandir/namecheck" console -no-color -var plan_json="$copydir/plan.json")
if [ "$failures" != 0 ]; then
  echo 'jsonencode(local.failures)' | terraform -chdir="$plandir/namecheck" console -no-color -var plan_json="$copydir/plan.json" >&2
  echo "scripts/namecheck failed: two copies of watchrelay in one project would collide" >&2
  exit 1
fi
# shellcheck disable=SC2016 # ${...} here is Terraform's interpolation
counts=$(echo 'join(", ", [for c, n in local.names : "${c}: ${length(n)}"])' | terraform -chdir="$plandir/namecheck" console -no-color -var plan_json="$copydir/plan.json")
echo "names found, none shared: ${counts//\"/}"

echo "terraform: all checks passed"
