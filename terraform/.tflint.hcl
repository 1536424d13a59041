# The terraform ruleset bundled in tflint: no plugin download.
plugin "terraform" {
  enabled = true
  preset  = "recommended"
}
