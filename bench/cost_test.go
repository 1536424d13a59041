package bench

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// block is one table of README.md that cost.sh prints: the lines between
// "<!-- bash bench/cost.sh ARGS -->" and "<!-- end cost.sh -->".
var block = regexp.MustCompile("(?s)<!-- bash bench/cost.sh([^>]*?) -->\n(.*?)<!-- end cost.sh -->")

// TestCostTablesMatchScript runs cost.sh with each block's arguments and
// requires its output, byte for byte, in the block.
func TestCostTablesMatchScript(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := block.FindAllSubmatch(readme, -1)
	defaults := false
	for _, b := range blocks {
		args := strings.Fields(string(b[1]))
		defaults = defaults || len(args) == 0
		out := cost(t, args...)
		if !bytes.Equal(out, b[2]) {
			t.Errorf("README.md's block for cost.sh %v differs from what it prints; paste this:\n%s", args, out)
		}
	}
	if !defaults {
		t.Errorf("README.md has no block for cost.sh without arguments (found %d blocks)", len(blocks))
	}
}

// TestCostRefusesBadInput: an unknown name or a value that is no number
// is an error, not a silent default.
func TestCostRefusesBadInput(t *testing.T) {
	for _, arg := range []string{"sync_read=1", "sync_reads=two", "sync_reads", "sync_reads=-1"} {
		cmd := exec.Command("bash", "cost.sh", arg)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("cost.sh %s: %v, want exit status 2; output:\n%s", arg, err, out)
		}
	}
}

// TestCostFollowsInputs: an input changes the figures it should, so the
// tables are computed, not printed.
func TestCostFollowsInputs(t *testing.T) {
	base := string(cost(t))
	moved := string(cost(t, "sync_writes=1"))
	if !strings.Contains(base, "| Firestore writes | 5,000,000 | 3,000,000 | 2,000,000 | 2,000,000 |") {
		t.Fatalf("default writes row missing:\n%s", base)
	}
	if !strings.Contains(moved, "| Firestore writes | 5,000,000 | 2,000,000 | 1,000,000 | 1,000,000 |") {
		t.Errorf("sync_writes=1 did not take a million writes off:\n%s", moved)
	}
}

func cost(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("bash", append([]string{"cost.sh"}, args...)...).Output()
	if err != nil {
		t.Fatalf("cost.sh %v: %v", args, err)
	}
	return out
}
