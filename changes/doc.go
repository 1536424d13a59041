// Package changes is the Sync function: it turns a watch's notifications
// into the changes themselves. A notification only says "something in this
// calendar changed"; Sync reads what changed since the watch's cursor
// through the kind's typed client and publishes one watchrelay.change.v1
// per changed item, so subscribers get "event 7kq1n9 is now this", not "go
// and look".
//
// Read it in this order:
//
//   - sync.go: Syncer.Handle, one notification event: the admin kinds
//     publish the item their body carries; the others take a turn at the
//     watch's fetch (the coalescing).
//   - fetch.go: one fetch, page by page: a page's events are acknowledged
//     by Pub/Sub before the cursor moves past it, and an expired cursor
//     becomes a resync and a fresh baseline.
//   - events.go: the events Sync publishes, and ending a watch Google
//     refused.
//   - push.go and pull.go: the two ways notification events arrive: a Pub/Sub
//     push subscription (deployed, with OIDC) and a pull subscriber (the
//     CLI's serve and demo, on the emulators or the embedded defaults).
//
// Coalescing lives in the store, not in an instance's memory, because Sync
// runs on many Cloud Run instances at once: a notification that the
// holder's coming read covers (store.Cursor.Covers) writes nothing; every
// other counts itself on the watch's cursor (store.Cursor.Wanted), and only
// the one that finds the fetch lease free fetches. It takes the lease and
// marks when its read begins (the debounce's end) in one write, waits the
// debounce, fetches, and gives the lease back, in the write that moves the
// cursor past the last page, only if the count has not moved since its
// claim (store FinishSync); otherwise it fetches once more. So a storm
// becomes a few fetches, and a notification that arrives during a fetch is
// always followed by one that sees its change.
package changes
