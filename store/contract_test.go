package store_test

import "testing"

// contractCase is one test of the contract that both stores pass.
type contractCase struct {
	name string
	run  func(*testing.T, contractStore)
}

// runCases runs each case in parallel, each on a fresh store.
func runCases(t *testing.T, newStore func(t *testing.T) contractStore, cases []contractCase) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}
