package store_test

import (
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/watchrelay/watchrelay/store"
)

var updateIndexes = flag.Bool("update-indexes", false, "rewrite terraform/indexes.json from store.Indexes")

// TestIndexesFile keeps terraform/indexes.json, from which Terraform creates
// the composite indexes, equal to store.Indexes, which TestQueriesHaveIndexes
// (queries_test.go) checks against the queries *Firestore runs. Regenerate
// it with: go test ./store -run TestIndexesFile -update-indexes
func TestIndexesFile(t *testing.T) {
	t.Parallel()
	want, err := json.MarshalIndent(store.Indexes, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, '\n')
	const path = "../terraform/indexes.json"
	if *updateIndexes {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from store.Indexes (-want +got):\n%s", path, diff)
	}
}
