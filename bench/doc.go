// Package bench holds no code: the benchmarks live beside the packages they
// measure (see README.md). Its test keeps the cost model's tables in
// README.md equal to what cost.sh prints, so the document cannot drift
// from its arithmetic.
package bench
