package scripts

import (
	"os"
	"regexp"
	"testing"
)

// TestQuickstartPins: examples/quickstart pins exactly the provider releases
// that `make test` builds (terraform-provider.sh) and so tests, so a
// deployment never applies a release the tests never ran on.
func TestQuickstartPins(t *testing.T) {
	script, err := os.ReadFile("terraform-provider.sh")
	if err != nil {
		t.Fatal(err)
	}
	versions, err := os.ReadFile("../examples/quickstart/versions.tf")
	if err != nil {
		t.Fatal(err)
	}
	built := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^provider (\w+) (\S+) `).FindAllSubmatch(script, -1) {
		built[string(m[1])] = string(m[2])
	}
	pinned := map[string]string{}
	for _, m := range regexp.MustCompile(`source\s*=\s*"hashicorp/(\w+)"\s*\n\s*version\s*=\s*"([^"]*)"`).FindAllSubmatch(versions, -1) {
		pinned[string(m[1])] = string(m[2])
	}
	if len(built) == 0 || len(pinned) != len(built) {
		t.Fatalf("terraform-provider.sh builds %v, examples/quickstart/versions.tf pins %v: one pin per provider built", built, pinned)
	}
	for name, v := range built {
		if pinned[name] != v {
			t.Errorf("examples/quickstart pins %s %q, make test builds and tests %q: pin exactly that release", name, pinned[name], v)
		}
	}
}
