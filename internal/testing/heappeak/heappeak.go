// Package heappeak measures how much live heap a piece of work holds at its
// largest, for benchmarks that report memory by measuring it: Sync's first
// cursor of a long calendar, and a Renew pass over a large due backlog.
package heappeak

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Start samples the live heap, collecting before each sample, until the
// returned func is called, which reports the peak above where it stood at
// the start: what the work holds at its largest, not garbage (whose growth
// before a collection follows the size of the whole heap, such as a
// simulator's data or a store's records living in the same process).
func Start() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	read := func() uint64 { runtime.GC(); metrics.Read(sample); return sample[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	halt := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-halt:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(halt)
		<-done
		return max(peak.Load(), base) - base
	}
}
